"""Formatting: the whole document as `steerdsl fmt` lays it out (steerdsl.lang.format)."""

from __future__ import annotations

from steerdsl.lang.diagnostics import SpecError
from steerdsl.lsp.document import BOM, Document


def formatted(doc: Document) -> str | None:
    """The document's formatted text; None when it is already formatted or does not parse
    (a syntax error is shown as a diagnostic; formatting then changes nothing)."""
    from steerdsl.lang.format import format_source

    text = doc.text.removeprefix(BOM)
    try:
        new = format_source(text)
    except SpecError:
        return None
    return None if new == text else new
