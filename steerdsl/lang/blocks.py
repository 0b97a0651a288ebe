"""Splitting a spec into its top-level blocks before parsing.

Each block is parsed on its own, so one syntax error costs one block and the others are still
parsed and checked. The scanner knows just enough of the lexical structure (strings, triple
strings, comments, braces) to find where blocks start. A block that is never closed ends where
a line starts with another block's header (`model NAME {`, `probe NAME from`, ...), so a
missing '}' is reported once, at its block, not as a cascade through the rest of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from steerdsl.lang.grammar import BLOCK_KEYWORDS

_TOKEN = re.compile(
    r'(?P<long>"""[\s\S]*?(?:"""|\Z))'
    r'|(?P<string>"(?:[^"\\\n]|\\[^\n])*"?)'
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<newline>\n)"
    r"|(?P<space>[ \t\r\f]+)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<brace>[{}])"
    r'|(?P<other>[^\s"#{}A-Za-z_]+)'
)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_HEADER = re.compile(
    rf"(?:experiment|corpus|model|intervention|judge)[ \t]+{_NAME}[ \t]*\{{"
    rf"|prompt[ \t]+{_NAME}[ \t]*(?:\{{|extends\b)"
    rf"|(?:goals|evaluate)[ \t]*\{{"
    rf"|probe[ \t]+{_NAME}[ \t]+from\b"
)


@dataclass
class Chunk:
    start: int  # offset in the text
    end: int
    line: int  # 1-based place of `start`
    col: int
    kind: str | None  # the block keyword, or None for text that starts no block
    name: str | None
    brace: tuple[int, int] | None = None  # (line, col) of the block's opening '{'
    closed: bool = True


def split_blocks(text: str) -> list[Chunk]:
    chunks: list[Chunk] = []
    depth = 0
    line, line_start = 1, 0
    first_on_line = True
    prev: str | None = None  # kind of the previous significant token at depth 0
    expect_name = False
    for m in _TOKEN.finditer(text):
        kind, tok, pos = m.lastgroup, m.group(), m.start()
        col = pos - line_start + 1
        if kind in ("space", "comment"):
            continue
        if kind == "newline":
            line, line_start, first_on_line = line + 1, m.end(), True
            continue
        starts = False
        if kind == "word" and tok in BLOCK_KEYWORDS:
            if depth == 0:
                starts = not chunks or first_on_line or prev in ("}", "string")
            elif first_on_line and _HEADER.match(text, pos):
                starts = True
        elif depth == 0 and prev == "}":
            starts = True  # nothing continues a closed block: a misspelled block keyword
        if starts or not chunks:
            if chunks:
                chunks[-1].end = pos
                chunks[-1].closed = depth == 0
            is_block = kind == "word" and tok in BLOCK_KEYWORDS
            chunks.append(Chunk(pos, len(text), line, col, tok if is_block else None, None))
            depth, expect_name = 0, is_block and tok not in ("goals", "evaluate")
        elif expect_name:
            if kind == "word":
                chunks[-1].name = tok
            expect_name = False
        if kind == "brace":
            if tok == "{":
                if depth == 0 and chunks[-1].brace is None:
                    chunks[-1].brace = (line, col)
                depth += 1
            else:
                depth = max(0, depth - 1)
        if kind in ("long", "string"):
            newlines = tok.count("\n")
            if newlines:
                line += newlines
                line_start = pos + tok.rindex("\n") + 1
        prev = "}" if tok == "}" else ("string" if kind in ("long", "string") else kind)
        first_on_line = False
    if chunks:
        chunks[-1].closed = depth == 0
    return chunks
