"""Completion: the keywords the grammar accepts at the cursor (block kinds between blocks,
the settings of the block or part the cursor is in, value words), and where a name fits, the
names of that kind: declared blocks, goals, built-in measures and prompts."""

from __future__ import annotations

from lsprotocol import types as lsp

from steerdsl import catalog
from steerdsl.lang import docs
from steerdsl.lsp.context import cursor_at, setting_context
from steerdsl.lsp.document import Document
from steerdsl.lsp.hover import measure_doc
from steerdsl.lsp.names import names_of, reference_kind

_KINDS = {"measure": lsp.CompletionItemKind.Function, "prompt": lsp.CompletionItemKind.Class,
          "method": lsp.CompletionItemKind.EnumMember,
          "reward": lsp.CompletionItemKind.EnumMember}


def completions(doc: Document, offset: int) -> list[lsp.CompletionItem]:
    if doc.in_string_or_comment(offset):
        return []
    cursor = cursor_at(doc.text, offset)
    items: list[lsp.CompletionItem] = []
    if cursor.block is None:
        return [_item(k, lsp.CompletionItemKind.Keyword, "block", docs.BLOCKS.get(k))
                for k in cursor.keywords]
    context = setting_context(cursor.block, cursor.words)
    for k in cursor.keywords:
        value = k in docs.VALUE_WORDS and not cursor.setting
        doc_text = None if value else docs.setting_doc(context, k)
        kind = lsp.CompletionItemKind.Keyword if doc_text else lsp.CompletionItemKind.Value
        items.append(_item(k, kind, f"setting of {context}" if doc_text else None, doc_text))
    kind_of_name = reference_kind(cursor.block, cursor.words) if cursor.name else None
    if kind_of_name is not None:
        for name in names_of(kind_of_name, doc.symbols):
            items.append(_item(name, _KINDS.get(kind_of_name, lsp.CompletionItemKind.Reference),
                                kind_of_name, _name_doc(kind_of_name, name)))
    if cursor.string and cursor.words and cursor.words[-1] == "local":
        items += [_item(f'"{m}"', lsp.CompletionItemKind.Value, "built-in local model", None)
                  for m in catalog.LOCAL_MODELS]
    return items


def _name_doc(kind: str, name: str) -> str | None:
    if kind == "measure":
        return measure_doc(name)
    if kind == "prompt":
        return docs.BUILTIN_PROMPTS.get(name)
    return None


def _item(label: str, kind: lsp.CompletionItemKind, detail: str | None,
          documentation: str | None) -> lsp.CompletionItem:
    return lsp.CompletionItem(
        label=label, kind=kind, detail=detail,
        documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=documentation)
        if documentation else None)
