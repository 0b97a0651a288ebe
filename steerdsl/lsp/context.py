"""What may be written at the cursor: the block it is in, the grammar's acceptable terminals
there, and the words just before it.

The block's text up to the cursor (less the word being typed) is parsed with the spec's own
LALR parser; where the text ends, lark's interactive parser says which terminals it accepts.
So completions follow the grammar exactly, in every block and nested part, without a second
description of the language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark.exceptions import UnexpectedInput, UnexpectedToken

from steerdsl.lang import docs
from steerdsl.lang.blocks import Chunk, split_blocks
from steerdsl.lang.grammar import BLOCK_KEYWORDS, keyword_of, parser
from steerdsl.lang.syntax_errors import keyword_as_name

# Significant tokens of a block's text: strings and comments are skipped whole.
_TOKEN = re.compile(
    r'(?P<skip>"""[\s\S]*?(?:"""|\Z)|"(?:[^"\\\n]|\\[^\n])*"?|#[^\n]*|\s+)'
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9.eE%+-]*)"
    r"|(?P<punct>\.\.|[^\sA-Za-z0-9_])"
)
_TYPING = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass
class Cursor:
    block: str | None  # the block keyword of the block the cursor is in; None between blocks
    # keywords the grammar accepts here, and whether a name, a string or a number fits
    keywords: list[str] = field(default_factory=list)
    name: bool = False
    string: bool = False
    words: list[str] = field(default_factory=list)  # the block's words and signs so far
    # a setting may start here (the block may close): keywords accepted are settings, not values
    setting: bool = False


def cursor_at(text: str, offset: int) -> Cursor:
    """What may be written at `offset`; the word being typed there is left to the client,
    which filters the completions by it."""
    typing = _TYPING.search(text, 0, offset)
    start = typing.start() if typing else offset
    chunk, words = block_words(text, start)
    if chunk is None or chunk.kind is None:
        return Cursor(None, list(BLOCK_KEYWORDS))
    accepted = _accepted(text[chunk.start:start])
    if accepted is None:  # an error earlier in the block: offer the settings written here
        settings = docs.SETTINGS.get(setting_context(chunk.kind, words), {})
        return Cursor(chunk.kind, sorted(settings), words=words, setting=True)
    if "$END" in accepted:  # the block is complete: another block may start here
        return Cursor(None, list(BLOCK_KEYWORDS))
    keywords = sorted(k for t in accepted if (k := keyword_of(t)) is not None)
    return Cursor(chunk.kind, keywords, "NAME" in accepted,
                  bool({"STRING", "LONG_STRING"} & accepted), words, setting="RBRACE" in accepted)


def block_words(text: str, offset: int) -> tuple[Chunk | None, list[str]]:
    """The top-level block an offset is in, and its words and signs before the offset."""
    chunk = next((c for c in reversed(split_blocks(text)) if c.start <= offset), None)
    if chunk is None:
        return None, []
    prefix = text[chunk.start:offset]
    return chunk, [m.group() for m in _TOKEN.finditer(prefix) if m.lastgroup != "skip"]


def _accepted(prefix: str) -> set[str] | None:
    """The terminals the grammar accepts after `prefix`; None after a syntax error."""
    found: dict[str, set[str]] = {}

    def on_error(e: UnexpectedInput) -> bool:
        if isinstance(e, UnexpectedToken) and e.token.type == "$END":
            found["accepts"] = e.interactive_parser.accepts()
            return False
        return keyword_as_name(e)

    try:
        parser().parse(prefix, on_error=on_error)
    except UnexpectedInput:
        return found.get("accepts")
    return {"$END"}


# The parts of a block with settings of their own (steerdsl.lang.docs.PARTS), by block.
_PARTS = {"corpus": ("read",), "model": ("deployment",), "intervention": ("reward", "lora")}


def setting_context(block: str, words: list[str]) -> str:
    """Where the next setting is written: the block, or the part of it that `words` (the
    block's words so far) last opened and did not close (`lora r 16 ` is in `lora`)."""
    parts = _PARTS.get(block, ())
    for i in range(len(words) - 1, -1, -1):
        if words[i] in parts:
            after = words[i + 1:]
            closed = "}" in after if words[i] == "deployment" else any(
                w in docs.SETTINGS[block] and w not in docs.SETTINGS[words[i]] for w in after)
            return block if closed else words[i]
    return block
