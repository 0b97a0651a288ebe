"""An open document's analysis, and places in it.

Positions here are 0-based lines and code-point columns (Python string indices), as the
front end counts; steerdsl.lsp.server converts them to and from the client's units (UTF-16 by
default) with pygls' position codec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from steerdsl.lang import check_source, syntax
from steerdsl.lang.diagnostics import Diagnostic, SourceText, Span
from steerdsl.lang.symbols import Symbols

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BOM = "\ufeff"


@dataclass(frozen=True)
class Place:
    """A 0-based line and code-point column."""

    line: int
    col: int


@dataclass
class Document:
    """A document's text and what the front end makes of it (computed once, on demand)."""

    text: str
    path: str  # shown in diagnostics' spans; relative paths in the spec resolve from its folder

    @cached_property
    def _checked(self) -> tuple[syntax.SpecTree, list[Diagnostic]]:
        # A BOM is not part of the spec (read_source drops it too); the columns of line 1
        # shift by one, which place() corrects.
        source = SourceText(self.path, self.text.removeprefix(BOM))
        return check_source(source, Path(self.path).resolve().parent)

    @property
    def tree(self) -> syntax.SpecTree:
        return self._checked[0]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Errors and warnings in source order, as `steerdsl check` prints them."""
        return sorted(self._checked[1], key=lambda d: (d.span.line, d.span.col, d.message))

    @cached_property
    def symbols(self) -> Symbols:
        return Symbols.of(self.tree)

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0] + [m.end() for m in re.finditer("\n", self.text)]

    def offset(self, place: Place) -> int:
        starts = self._line_starts
        if place.line >= len(starts):
            return len(self.text)
        end = starts[place.line + 1] - 1 if place.line + 1 < len(starts) else len(self.text)
        return min(starts[place.line] + place.col, end)

    def place(self, offset: int) -> Place:
        line = self.text.count("\n", 0, offset)
        return Place(line, offset - self._line_starts[line])

    def span_places(self, span: Span) -> tuple[Place, Place]:
        """A front-end span (1-based, one past the end) as start and end places."""
        shift = 1 if self.text.startswith(BOM) else 0
        start = Place(span.line - 1, span.col - 1 + (shift if span.line == 1 else 0))
        end = Place(span.end_line - 1, span.end_col - 1 + (shift if span.end_line == 1 else 0))
        return start, end

    def word_at(self, offset: int) -> tuple[str, int] | None:
        """The name or keyword under (or just before) an offset, and where it starts; None
        in a string or a comment."""
        if self.in_string_or_comment(offset):
            return None
        line_start = self.text.rfind("\n", 0, offset) + 1
        line_end = self.text.find("\n", offset)
        line = self.text[line_start:line_end if line_end >= 0 else len(self.text)]
        col = offset - line_start
        for m in _WORD.finditer(line):
            if m.start() <= col <= m.end():
                return m.group(), line_start + m.start()
        return None

    def in_string_or_comment(self, offset: int) -> bool:
        """Whether an offset is inside a string or a comment (no names or keywords there)."""
        return any(m.start() < offset < m.end() or (m.group().startswith("#") and
                                                    m.start() < offset <= m.end())
                   for m in _OPAQUE.finditer(self.text, 0, _next_line_end(self.text, offset)))


_OPAQUE = re.compile(r'"""[\s\S]*?(?:"""|\Z)|"(?:[^"\\\n]|\\[^\n])*"?|#[^\n]*')


def _next_line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end < 0 else end
