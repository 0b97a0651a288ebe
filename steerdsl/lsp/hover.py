"""Hover: the documentation of the word under the cursor: a block kind, a setting (in the
block or part it is written in), a value word (its setting's), a built-in measure or prompt,
or, for a name that refers to a block, that block's first line."""

from __future__ import annotations

from dataclasses import dataclass

from steerdsl import catalog
from steerdsl.lang import docs
from steerdsl.lsp.context import block_words, setting_context
from steerdsl.lsp.document import Document, Place
from steerdsl.lsp.names import definition, reference_kind


@dataclass(frozen=True)
class Hover:
    markdown: str
    start: Place
    end: Place


def hover(doc: Document, offset: int) -> Hover | None:
    found = doc.word_at(offset)
    if found is None:
        return None
    word, start = found
    text = _doc_of(doc, word, start)
    if text is None:
        return None
    return Hover(text, doc.place(start), doc.place(start + len(word)))


def _doc_of(doc: Document, word: str, start: int) -> str | None:
    chunk, words = block_words(doc.text, start)
    if chunk is None or chunk.kind is None:
        return None
    if start == chunk.start:
        return docs.BLOCKS.get(word)
    kind = reference_kind(chunk.kind, words)
    found = _reference_doc(doc, kind, word) if kind is not None else None
    if found is not None:
        return found
    context = setting_context(chunk.kind, words)
    if word not in docs.VALUE_WORDS:
        return docs.setting_doc(context, word)
    # a value or a setting's later word (`select nearest`, `requests 2 per source`): the
    # documentation of the setting it belongs to; `on` is also a setting (`on PROBE`)
    if words and (own := docs.setting_doc(context, words[-1])) is not None:
        return own
    if (own := docs.setting_doc(context, word)) is not None:
        return own
    return next((d for w in reversed(words[-4:]) if (d := docs.setting_doc(context, w))), None)


def _reference_doc(doc: Document, kind: str, name: str) -> str | None:
    if kind == "measure":
        return measure_doc(name)
    if kind == "prompt" and name in docs.BUILTIN_PROMPTS:
        return docs.BUILTIN_PROMPTS[name]
    node = definition(kind, name, doc.symbols)
    if node is None:
        return None
    start, _ = doc.span_places(node.span)
    line = doc.text.split("\n")[start.line].strip()
    return f"({kind}) **{name}**, line {start.line + 1}:\n\n```steer\n{line}\n```"


def measure_doc(name: str) -> str | None:
    info = catalog.MEASURES.get(name)
    if info is None:
        return None
    parts = [f"**{name}**: {info.description}"]
    if info.up and info.down:
        parts.append(f"Requests: up \"{info.up}\", down \"{info.down}\".")
    if info.libraries:
        parts.append(f"Computed with {', '.join(info.libraries)}.")
    return "\n\n".join(parts)
