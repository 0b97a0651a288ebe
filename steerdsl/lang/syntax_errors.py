"""Syntax errors worded for people: lark's exceptions -> diagnostics.

LALR merges parser states, so lark's own `expected` lists may name tokens that only fit
elsewhere; the interactive parser says what really fits. Common mistakes get a friendly text,
found like lark's match_examples.
"""

from __future__ import annotations

from functools import lru_cache

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from steerdsl.lang.blocks import Chunk
from steerdsl.lang.diagnostics import Diagnostic, Span
from steerdsl.lang.grammar import BLOCK_KEYWORDS, keyword_of, parser, terminal_texts
from steerdsl.lang.suggest import closest


def keyword_as_name(e: UnexpectedInput) -> bool:
    """Retry a keyword as a plain name where a name fits (a goal called `rpm`).

    LALR merges parser states, so the contextual lexer may see a keyword as possible right
    after a number even where only a name can follow; lark then reads `rpm` as the keyword.
    """
    if not isinstance(e, UnexpectedToken) or not keyword_of(e.token.type):
        return False
    ip = e.interactive_parser
    if ip is None or "NAME" not in ip.accepts():
        return False
    ip.feed_token(lark.Token.new_borrow_pos("NAME", str(e.token), e.token))
    return True


def syntax_diagnostic(e: UnexpectedInput, chunk: Chunk, path: str, text: str) -> Diagnostic:
    if isinstance(e, UnexpectedCharacters):
        line, col = e.line, e.column
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        if ch == '"':
            end = text.find("\n", e.pos_in_stream)
            end_col = col + ((end if end >= 0 else len(text)) - e.pos_in_stream)
            return Diagnostic("error", "unterminated string", Span(path, line, col, line, end_col))
        return Diagnostic("error", f"unexpected character {ch!r}{expected_hint(e.allowed)}",
                          Span(path, line, col, line, col + 1))
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    e.expected = _accepted(e)
    if tok.type == "$END":
        if not chunk.closed and chunk.brace:
            line, col = chunk.brace
            return Diagnostic("error", f"'{{' of this {chunk.kind} block is never closed: "
                              "missing '}'", Span(path, line, col, line, col + 1))
        line = getattr(tok, "end_line", None) or chunk.line
        col = getattr(tok, "end_column", None) or chunk.col
        return Diagnostic("error", f"unexpected end of file{expected_hint(e.expected)}",
                          Span(path, line, col, line, col + 1))
    span = Span(path, tok.line, tok.column, tok.end_line or tok.line,
                tok.end_column or tok.column + 1)
    word = str(tok.value)
    keywords = sorted({k for t in e.expected if (k := keyword_of(t))})
    if word.isidentifier() and tok.start_pos == _first_token_pos(text):
        return Diagnostic("error", f"unknown block '{word}' (blocks: {', '.join(BLOCK_KEYWORDS)})",
                          span, closest(word, BLOCK_KEYWORDS))
    if word.isidentifier() and "RBRACE" in e.expected and keywords:
        return Diagnostic("error", f"unknown setting '{word}' in {chunk.kind} block "
                          f"(settings here: {', '.join(keywords)})", span,
                          closest(word, keywords))
    friendly = _friendly(e)
    if friendly is not None:
        return Diagnostic("error", f"unexpected {_describe(tok)}: {friendly}", span)
    suggestion = closest(word, keywords) if word.isidentifier() else None
    return Diagnostic("error", f"unexpected {_describe(tok)}{expected_hint(e.expected)}", span,
                      suggestion)


# Friendly messages for common mistakes, found like lark's match_examples: an error whose
# parser state and accepted tokens equal those of an example's error gets the example's text.
FRIENDLY: dict[str, tuple[str, ...]] = {
    "write 'requests N per source'": (
        "probe p from c { requests 3 }", "probe p from c { requests 3 active 1 }"),
    "a quantile normalization names its corpus: normalize quantile A%..B% of CORPUS": (
        "goals { a = x normalize quantile 1%..2% }",
        "goals { a = x normalize quantile 1%..2% b = y }"),
    "normalize takes a range: normalize LO..HI": (
        "goals { a = x normalize 1 }", "goals { a = x normalize 1 b = y }"),
    "API keys come from the environment: write api_key env VARIABLE": (
        "model m { api_key KEY }",),
    "sampling weights are 'weighted uniform' or 'unweighted'": (
        "probe p from c { sources 3 weighted }", "probe p from c { sources 3 weighted x }"),
}


@lru_cache(maxsize=1)
def _friendly_table() -> dict[tuple, str]:
    table = {}
    for message, examples in FRIENDLY.items():
        for example in examples:
            try:
                parser().parse(example)
            except UnexpectedToken as e:
                table[_signature(e)] = message
    return table


def _signature(e: UnexpectedToken) -> tuple:
    ip = getattr(e, "interactive_parser", None)
    position = ip.parser_state.position if ip is not None else e.state
    return position, frozenset(_accepted(e))


def _friendly(e: UnexpectedToken) -> str | None:
    try:
        return _friendly_table().get(_signature(e))
    except Exception:  # a signature that cannot be computed: no friendly text, no crash
        return None


def _accepted(e: UnexpectedToken) -> set[str]:
    """What the parser really accepts here. LALR merges states, so lark's `expected` may list
    terminals that only fit elsewhere; the interactive parser's accepts() tries each one."""
    ip = getattr(e, "interactive_parser", None)
    if ip is not None:
        try:
            found = ip.accepts()
        except Exception:  # an odd state: fall back to lark's own list
            found = None
        if found:
            return set(found)
    return set(e.expected)


def _first_token_pos(text: str) -> int:
    return len(text) - len(text.lstrip())


def _describe(tok: lark.Token) -> str:
    if tok.type in ("STRING", "LONG_STRING"):
        return "string"  # never echo a string: it may be a key
    if tok.type == "NUMBER":
        return f"number {tok.value}"
    value = str(tok.value)
    return f"'{value[:40]}{'...' if len(value) > 40 else ''}'"


def expected_hint(terminals) -> str:
    if not terminals:
        return ""
    texts = terminal_texts()
    shown = sorted({texts.get(t, t) for t in terminals})
    if len(shown) > 12:
        shown = shown[:12] + ["..."]
    return "; expected " + (shown[0] if len(shown) == 1 else "one of " + ", ".join(shown))
