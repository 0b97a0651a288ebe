"""Diagnostics: errors with places, and their rendering.

A diagnostic renders like a compiler's:

    specs/x.steer:12:9: error: unknown goal 'formalty'; did you mean 'formality'?
      goals formalty
            ^^^^^^^^

The caret line copies tabs from the source line and gives wide (east-asian) characters two
columns, so carets stay under the span in a terminal. Terminal control characters in quoted
text (escape sequences can retitle the terminal or hide output; bidi overrides reorder it) are
shown as escapes (`\x1b`, `\u202e`): `printable`, also used for every message the CLI prints.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Span:
    """A place in a spec: 1-based line and column; end_col is one past the last character."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


def place(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of an offset."""
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    message: str
    span: Span
    suggestion: str | None = None  # rendered as "; did you mean '...'?"

    @property
    def text(self) -> str:
        if self.suggestion is None:
            return self.message
        return f"{self.message}; did you mean '{self.suggestion}'?"

    def render(self, source: "SourceText | None" = None) -> str:
        head = printable(f"{self.span}: {self.severity}: {self.text}")
        if source is None:
            return head
        line = source.display_line(self.span.line)
        if line is None:
            return head
        return f"{head}\n  {printable(line, keep=chr(9))}\n  {caret_line(line, self.span)}"


@dataclass
class SourceText:
    """A spec's text as shown in diagnostics. Secret spans (literal API keys) are masked, so no
    diagnostic ever echoes a key, whichever error it is about."""

    path: str
    text: str
    secrets: list[Span] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lines = self.text.split("\n")

    def display_line(self, number: int) -> str | None:
        if not 1 <= number <= len(self._lines):
            return None
        line = self._lines[number - 1].rstrip("\r")
        for s in self.secrets:
            if s.line <= number <= s.end_line:
                start = s.col - 1 if s.line == number else 0
                end = s.end_col - 1 if s.end_line == number else len(line)
                line = line[:start] + "*" * max(0, min(end, len(line)) - start) + line[end:]
        return line


# Bidirectional overrides, embeddings, isolates and marks: they reorder what a terminal shows.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape)
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep: str = "") -> str:
    """`text` with terminal control characters other than those in `keep` shown as escapes."""
    return "".join(_escape(ch) if ch not in keep and _is_control(ch) else ch for ch in text)


def _width(ch: str) -> int:
    if _is_control(ch):  # shown as its escape by printable()
        return len(_escape(ch))
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def caret_line(line: str, span: Span) -> str:
    """Spaces (and the line's own tabs) up to the span, then carets under it."""
    start = max(0, span.col - 1)
    end = span.end_col - 1 if span.end_line == span.line else len(line)
    end = max(end, start + 1)
    pad = "".join("\t" if ch == "\t" else " " * _width(ch) for ch in line[:start])
    under = line[start:end]
    carets = sum(max(1, _width(ch)) for ch in under) if under else 1
    return pad + "^" * max(1, carets)


class SpecError(Exception):
    """A spec has errors. `diagnostics` holds every one of them, in source order."""

    def __init__(self, diagnostics: list[Diagnostic], source: SourceText | None = None):
        self.diagnostics = sorted(
            diagnostics, key=lambda d: (d.span.file, d.span.line, d.span.col, d.message)
        )
        self.source = source
        super().__init__(self.render())

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def render(self) -> str:
        parts = [d.render(self.source) for d in self.diagnostics]
        n = len(self.errors)
        parts.append(f"{n} error{'s' if n != 1 else ''}")
        return "\n".join(parts)
