"""Go to definition: a name that refers to a block (or a goal) -> where that block names it."""

from __future__ import annotations

from steerdsl.lsp.context import block_words
from steerdsl.lsp.document import Document, Place
from steerdsl.lsp.names import definition, reference_kind


def find_definition(doc: Document, offset: int) -> tuple[Place, Place] | None:
    found = doc.word_at(offset)
    if found is None:
        return None
    word, start = found
    chunk, words = block_words(doc.text, start)
    kind = reference_kind(chunk.kind, words) if chunk is not None else None
    node = definition(kind, word, doc.symbols) if kind is not None else None
    if node is None:
        return None
    return doc.span_places(node.name.span)
