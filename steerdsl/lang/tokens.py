"""Every token of a spec, comments included, with its place: what the formatter and the
highlighter need and the parser drops (the grammar ignores comments and whitespace).

The patterns are the grammar's own terminals, so a token added to the grammar is lexed here
without an edit. Keywords lex as names: which words are keywords depends on where they stand
(lark's contextual lexer), and layout needs only the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from steerdsl.lang.grammar import parser

# Which of the grammar's regex terminals is which kind of token, longest strings first.
_KINDS = (("long_string", "LONG_STRING"), ("string", "STRING"), ("comment", "COMMENT"),
          ("space", "WS"), ("number", "NUMBER"), ("name", "NAME"))


@dataclass(frozen=True)
class Token:
    kind: str  # long_string, string, comment, number, name, punct
    text: str
    start: int  # offset in the text
    end: int
    line: int  # 1-based line of start
    end_line: int  # line of the last character (a triple string spans lines)


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    terminals = {t.name: t.pattern for t in parser().terminals}
    parts = [f"(?P<{kind}>{terminals[name].to_regexp()})" for kind, name in _KINDS]
    puncts = sorted((t.pattern.value for t in parser().terminals
                     if t.pattern.type == "str" and not t.pattern.value.isidentifier()),
                    key=len, reverse=True)
    parts.append("(?P<punct>" + "|".join(re.escape(p) for p in puncts) + ")")
    return re.compile("|".join(parts))


def tokenize(text: str) -> list[Token]:
    """The tokens of a text that parses (whitespace dropped). A character no terminal matches
    raises ValueError: callers parse first, so that is a bug, not a user error."""
    out: list[Token] = []
    pos, line, pattern = 0, 1, _pattern()
    while pos < len(text):
        m = pattern.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"no token at line {line}: {text[pos:pos + 20]!r}")
        kind, tok = m.lastgroup or "", m.group()
        newlines = tok.count("\n")
        if kind != "space":
            out.append(Token(kind, tok, pos, m.end(), line, line + newlines))
        line += newlines
        pos = m.end()
    return out
