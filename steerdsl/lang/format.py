"""`steerdsl fmt`'s layout: one canonical form of a spec, comments kept in place.

Blocks stay in the order written; the items of a block go in the canonical order of
steerdsl.lang.setting_order (goals, reads, rewards and other repeated items keep their order
among themselves, so the plan is the same); two-space indentation; one space around `=`;
goals aligned at `=` and at their normalization, a prompt's phrases at `up` and `down`. A
block written on one line stays on one line while it fits and holds no comment; a run of such
blocks of one kind is aligned at `{`.
Formatting changes only layout and item order, never a token, so the plan hash is the same
(tests/test_fmt.py holds it to that on every spec it knows).
"""

from __future__ import annotations

from steerdsl.lang.diagnostics import SourceText, SpecError
from steerdsl.lang.layout import Block, Comment, Document, Item, build
from steerdsl.lang.setting_order import rank
from steerdsl.lang.tokens import Token, tokenize

INDENT = "  "
WIDTH = 100  # a one-line block longer than this is laid out on lines
_SEP = "  "  # between the items of a one-line block, and before a trailing comment
_NO_SPACE_BEFORE = {",", "%", ")", ".."}
_NO_SPACE_AFTER = {"(", ".."}
_BEFORE_UNARY = {"=", "+", "-", "*", "/", "("}


def format_source(text: str, path: str = "<spec>") -> str:
    """The canonical layout of a spec's text. A spec with a syntax error raises the
    parser's SpecError (with every syntax error of the file)."""
    text = text.removeprefix("\ufeff")
    doc = build(_parse(text, path), tokenize(text), text)
    return _render(doc)


def _parse(text: str, path: str) -> list:
    from lark.exceptions import UnexpectedInput

    from steerdsl.lang.blocks import split_blocks
    from steerdsl.lang.grammar import parser
    from steerdsl.lang.parser import parse_text
    from steerdsl.lang.syntax_errors import keyword_as_name

    _tree, diags, secrets = parse_text(text, path)
    if any(d.severity == "error" for d in diags):
        source = SourceText(path, text)
        source.secrets = secrets
        raise SpecError(diags, source)
    trees = []
    for chunk in split_blocks(text):
        # The parser pads each block to its own line and column: the same here, so the
        # trees' positions are the padded text's; delta maps them back to the file's.
        pad = (chunk.line - 1) + (chunk.col - 1)
        padded = "\n" * (chunk.line - 1) + " " * (chunk.col - 1) + text[chunk.start:chunk.end]
        try:
            start = parser().parse(padded, on_error=keyword_as_name)
        except UnexpectedInput:  # parse_text said it parses: only a salvaged goals block
            raise SpecError(diags, SourceText(path, text)) from None
        trees += [(block, chunk.start - pad) for block in start.children]
    return trees


def _render(doc: Document) -> str:
    lines: list[str] = []
    widths = _aligned_heads(doc.blocks)
    prev: Block | None = None
    for b, width in zip(doc.blocks, widths):
        apart = prev is not None and (_multiline(prev) or _multiline(b))
        lines += _group(b.leading, b.blank_before, bool(lines), "", force_blank=apart)
        lines += _block_lines(b, "", width)
        prev = b
    lines += _comment_lines(doc.tail, bool(lines), "")
    return "\n".join(lines) + "\n" if lines else ""


def _comment_lines(comments: list[Comment], after_something: bool, indent: str,
                   force_blank: bool = False) -> list[str]:
    """Comment lines; blank lines where the source had them (none first in a block)."""
    out: list[str] = []
    for i, c in enumerate(comments):
        if (after_something or out) and (c.blank_before or (force_blank and i == 0)):
            out.append("")
        out.append(indent + c.text)
    return out


def _group(leading: list[Comment], blank_before: bool, after_something: bool, indent: str,
           force_blank: bool = False) -> list[str]:
    """The lines before an item or block: its comments, and the blank lines around them."""
    out = _comment_lines(leading, after_something, indent, force_blank)
    if (after_something or out) and (blank_before or (force_blank and not leading)):
        out.append("")
    return out


def _aligned_heads(blocks: list[Block]) -> list[int]:
    """The width each block's header is padded to: one-line blocks of one kind in a row (no
    blank line or comment between) are aligned at their '{'."""
    widths = [0] * len(blocks)
    i = 0
    while i < len(blocks):
        j = i + 1
        if _one_line(blocks[i]):
            while j < len(blocks) and blocks[j].kind == blocks[i].kind and _one_line(blocks[j]) \
                    and not blocks[j].leading and not blocks[j].blank_before:
                j += 1
            width = max(len(_join(b.header)) for b in blocks[i:j])
            widths[i:j] = [width] * (j - i)
        i = j
    return widths


def _multiline(b: Block) -> bool:
    return b.brace is not None and bool(b.items or _has_inner_comments(b)) and not _one_line(b)


def _has_inner_comments(b: Block) -> bool:
    return b.head_trailing is not None or bool(b.end_comments) or any(
        it.leading or it.trailing is not None for it in b.items)


def _one_line(b: Block) -> bool:
    """Written on one line, holds no comment or block, and fits."""
    if b.brace is None or b.close is None or not b.items or b.brace.line != b.close.line:
        return False
    if _has_inner_comments(b) or any(it.block is not None for it in b.items):
        return False
    texts = _item_texts(b)
    line = f"{_join(b.header)} {{ {_SEP.join(texts)} }}"
    return "\n" not in line and len(line) <= WIDTH


def _block_lines(b: Block, indent: str, head_width: int = 0) -> list[str]:
    head = _join(b.header).ljust(head_width)
    trail = f"{_SEP}{b.trailing}" if b.trailing is not None else ""
    if b.brace is None:
        return [indent + head + trail]
    if not b.items and not _has_inner_comments(b):
        return [f"{indent}{head} {{}}{trail}"]
    if _one_line(b):
        return [f"{indent}{head} {{ {_SEP.join(_item_texts(b))} }}{trail}"]
    opening = f"{indent}{head} {{"
    if b.head_trailing is not None:
        opening += f"{_SEP}{b.head_trailing}"
    out = [opening]
    inner = indent + INDENT
    items = _ordered(b)
    texts = _aligned_phrases(items, _item_texts(b))
    column = max((len(t) for it, t in zip(items, texts)
                  if it.trailing is not None and it.block is None and "\n" not in t), default=0)
    for n, (it, text) in enumerate(zip(items, texts)):
        # a nested block's own leading comments were inside its header (`deployment # x {`)
        leading = it.leading + (it.block.leading if it.block is not None else [])
        group = _group(leading, it.blank_before, n > 0, inner)
        if it.block is not None:
            group += _block_lines(it.block, inner)
            if it.trailing is not None:
                group[-1] += f"{_SEP}{it.trailing}"
        else:
            line = inner + text
            if it.trailing is not None:  # aligned, unless the item ends a multi-line string
                line = inner + (text if "\n" in text else text.ljust(column)) + _SEP + it.trailing
            group.append(line)
        out += group
    out += _comment_lines(b.end_comments, len(out) > 1, inner)
    out.append(f"{indent}}}{trail}")
    return out


def _ordered(b: Block) -> list[Item]:
    if b.kind == "goals":
        return list(b.items)
    return sorted(b.items, key=lambda it: rank(b.kind, it.key))  # stable: repeats keep order


def _item_texts(b: Block) -> list[str]:
    items = _ordered(b)
    goals = [it.goal for it in items if it.goal is not None]
    if not goals:
        return ["" if it.block is not None else _join(it.tokens, it.expr) for it in items]
    measures = [_join(it.goal[1], it.expr) if it.goal else "" for it in items]
    name_width = max(len(_join(name)) for name, _, _ in goals)
    measure_width = max((len(m) for m, it in zip(measures, items)
                         if it.goal and it.goal[2] and "\n" not in m), default=0)
    out = []
    for it, measure in zip(items, measures):
        assert it.goal is not None
        name, _, rest = it.goal
        text = f"{_join(name).ljust(name_width)} = {measure}"
        if rest:
            if "\n" not in measure:
                text = text.ljust(name_width + 3 + measure_width)
            text += f"{_SEP}{_join(rest)}"
        out.append(text)
    return out


def _aligned_phrases(items: list[Item], texts: list[str]) -> list[str]:
    """A block's `phrase GOAL up "..." down "..."` items laid out on lines: aligned at `up`
    and at `down`, as a table of goals (a phrase holding a multi-line string is left alone)."""
    rows = [n for n, (it, text) in enumerate(zip(items, texts))
            if it.block is None and it.key == "phrase" and len(it.tokens) == 6
            and "\n" not in text]
    if len(rows) < 2:
        return texts
    parts = {n: (_join(items[n].tokens[:2]), _join(items[n].tokens[2:4]),
                 _join(items[n].tokens[4:])) for n in rows}
    goal_width = max(len(goal) for goal, _, _ in parts.values())
    up_width = max(len(up) for _, up, _ in parts.values())
    out = list(texts)
    for n, (goal, up, down) in parts.items():
        out[n] = f"{goal.ljust(goal_width)} {up.ljust(up_width)}{_SEP}{down}"
    return out


def _join(tokens: list[Token], expr: tuple[int, int] | None = None) -> str:
    """Tokens with one space between them, none inside `a..b`, `5%`, `(x)`, `-1`, `a, b`."""
    out = ""
    for i, t in enumerate(tokens):
        if i and not (t.text in _NO_SPACE_BEFORE or tokens[i - 1].text in _NO_SPACE_AFTER
                      or _unary(tokens, i - 1, expr)):
            out += " "
        out += t.text
    return out


def _unary(tokens: list[Token], i: int, expr: tuple[int, int] | None) -> bool:
    """Whether tokens[i] is a minus sign glued to what follows (a negative number, `-x`)."""
    t = tokens[i]
    if t.text != "-":
        return False
    if expr is None or not expr[0] <= t.start < expr[1]:
        return True  # outside expressions a minus only ever signs a number
    return i == 0 or tokens[i - 1].text in _BEFORE_UNARY or tokens[i - 1].start < expr[0]
