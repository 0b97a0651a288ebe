"""What the formatter lays out: a spec's blocks and items with their tokens and comments.

The parser's lark trees say where each block and item starts and ends; the token pass
(steerdsl.lang.tokens) supplies the comments the grammar ignores. Each comment is attached to
what it belongs to: a comment on its own line to the item or block after it (or to the end of
its block, or of the file), a comment after code on the same line to that line's item. A
comment inside an item that the formatter puts on one line moves before the item: never lost.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

import lark

from steerdsl.lang.keywords import TABLES
from steerdsl.lang.setting_order import setting_order
from steerdsl.lang.tokens import Token


@dataclass
class Comment:
    text: str
    blank_before: bool  # a blank line before it in the source


@dataclass
class Item:
    """One setting (or goal, or nested deployment block) of a block."""

    tokens: list[Token]
    start: int
    end: int
    blank_before: bool = False
    leading: list[Comment] = field(default_factory=list)
    trailing: str | None = None
    block: Block | None = None  # a nested block (deployment)
    # A goal: its name, measure and the rest (normalization, question), and the span of an
    # expression measure (its minus signs may be binary).
    goal: tuple[list[Token], list[Token], list[Token]] | None = None
    expr: tuple[int, int] | None = None

    @property
    def key(self) -> str:
        return self.block.kind if self.block is not None else self.tokens[0].text


@dataclass
class Block:
    kind: str
    header: list[Token]  # up to the '{' (a csv probe: all of it)
    items: list[Item]
    start: int
    end: int
    brace: Token | None = None
    close: Token | None = None
    blank_before: bool = False
    leading: list[Comment] = field(default_factory=list)
    head_trailing: str | None = None  # after the '{'
    end_comments: list[Comment] = field(default_factory=list)  # before the '}'
    trailing: str | None = None  # after the '}'


@dataclass
class Document:
    blocks: list[Block]
    tail: list[Comment]  # comments after the last block


class _Tokens:
    def __init__(self, tokens: list[Token], text: str):
        self.all = tokens
        self.text = text
        self.starts = [t.start for t in tokens]

    def code(self, start: int, end: int) -> list[Token]:
        i = bisect_left(self.starts, start)
        out = []
        while i < len(self.all) and self.all[i].start < end:
            if self.all[i].kind != "comment":
                out.append(self.all[i])
            i += 1
        return out

    def blank_before(self, pos: int) -> bool:
        i = bisect_left(self.starts, pos)
        prev_end = self.all[i - 1].end if i > 0 else 0
        return i > 0 and self.text.count("\n", prev_end, pos) >= 2


def build(trees: list[tuple[lark.Tree, int]], tokens: list[Token], text: str) -> Document:
    """`trees`: each parsed block and the offset to add to its positions (the parser pads
    each block to its own line and column)."""
    toks = _Tokens(tokens, text)
    blocks = [_block(tree, delta, toks) for tree, delta in trees]
    doc = Document(blocks, [])
    prev: Token | None = None
    for t in tokens:
        if t.kind == "comment":
            comment = Comment(t.text.rstrip(), toks.blank_before(t.start))
            same_line = prev is not None and prev.end_line == t.line
            _place_top(doc, t, comment, prev if same_line else None)
        else:
            prev = t
    return doc


def _span(node: lark.Tree, delta: int) -> tuple[int, int]:
    return node.meta.start_pos + delta, node.meta.end_pos + delta


def _block(tree: lark.Tree, delta: int, toks: _Tokens) -> Block:
    start, end = _span(tree, delta)
    code = toks.code(start, end)
    brace_at = next((i for i, t in enumerate(code) if t.text == "{"), None)
    if brace_at is None:  # probe NAME from csv "FILE"
        return Block(tree.data, code, [], start, end, blank_before=toks.blank_before(start))
    brace = code[brace_at]
    items = [_item(child, delta, toks) for child in tree.children
             if isinstance(child, lark.Tree) and _span(child, delta)[0] > brace.start]
    return Block(str(tree.data), code[:brace_at], items, start, end, brace, code[-1],
                 blank_before=toks.blank_before(start))


def _item(tree: lark.Tree, delta: int, toks: _Tokens) -> Item:
    start, end = _span(tree, delta)
    item = Item(toks.code(start, end), start, end, blank_before=toks.blank_before(start))
    if tree.data == "deployment":
        item.block = _block(tree, delta, toks)
    elif tree.data in TABLES:  # read, reward, lora: their own settings in order too
        item.tokens = _ordered_settings(tree, delta, toks)
    elif tree.data == "goal":
        measure = next(c for c in tree.children if isinstance(c, lark.Tree))
        m_start, m_end = _span(measure, delta)
        item.goal = (toks.code(start, m_start)[:-1], toks.code(m_start, m_end),
                     toks.code(m_end, end))
        if measure.data == "expr":
            item.expr = (m_start, m_end)
    return item


def _ordered_settings(tree: lark.Tree, delta: int, toks: _Tokens) -> list[Token]:
    start, end = _span(tree, delta)
    order = setting_order(str(tree.data))
    groups = [toks.code(*_span(c, delta)) for c in tree.children if isinstance(c, lark.Tree)]
    groups = [g for g in groups if g and g[0].text in order]
    if not groups:
        return toks.code(start, end)
    head = toks.code(start, groups[0][0].start)
    groups.sort(key=lambda g: order.index(g[0].text))  # stable: a repeat keeps its place
    return head + [t for g in groups for t in g]


def _place_top(doc: Document, comment_token: Token, comment: Comment,
               before: Token | None) -> None:
    _place_among(doc.blocks, comment_token.start, comment, before, doc.tail)


def _place_in_block(b: Block, pos: int, comment: Comment, before: Token | None) -> None:
    if b.brace is None or pos < b.brace.start:  # inside the header: before the block
        b.leading.append(comment)
    elif before is b.brace and b.head_trailing is None:
        b.head_trailing = comment.text
    else:
        _place_among(b.items, pos, comment, before, b.end_comments)


def _place_among(children: Sequence[Item | Block], pos: int, comment: Comment,
                 before: Token | None, after_all: list[Comment]) -> None:
    """Attach a comment to the block or item it is in, trails or precedes; else to
    `after_all` (the end of the block or of the file)."""
    for child in children:
        if child.start <= pos < child.end:
            inner = child if isinstance(child, Block) else child.block
            if inner is not None:
                _place_in_block(inner, pos, comment, before)
            else:
                child.leading.append(comment)  # inside an item laid out on one line
            return
        if before is not None and child.start <= before.start < child.end:
            _trail(child, comment)
            return
        if child.start > pos:
            child.leading.append(comment)
            return
    after_all.append(comment)


def _trail(owner: Item | Block, comment: Comment) -> None:
    if owner.trailing is None:
        owner.trailing = comment.text
    else:  # cannot happen (a comment ends its line); kept, not lost, if it ever does
        owner.leading.append(comment)
