"""Cleaning answers (METHOD.md section 3): reasoning blocks, cot extraction, chatty prefixes."""

from __future__ import annotations

import re

from steerdsl.plan.model import PromptPlan

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_HEADER_DECORATION = " \t#*_:=-"


def clean_answer(raw: str, prompt: PromptPlan) -> str:
    text = strip_reasoning(raw)
    if prompt.answer_after:
        text = after_header(text, prompt.answer_after)
    return strip_chatty_prefix(text).strip()


def strip_reasoning(text: str) -> str:
    text = _THINK_BLOCK.sub("", text)
    # Some providers drop the opening tag and send only "...</think>answer".
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end():]
    # An unclosed block (cut off by max_tokens) is reasoning to its end: no answer.
    m = _THINK_OPEN.search(text)
    if m:
        text = text[:m.start()]
    return text


def after_header(text: str, header: str) -> str:
    """The text after the last line that is the header (markdown decoration aside), else after
    the last line containing it; the whole text when no line does."""
    lines = text.splitlines()
    # "## Rewritten text", "**Rewritten Text:**" and "Rewritten text" are the same header.
    key = header.strip(_HEADER_DECORATION).casefold()
    exact = [i for i, line in enumerate(lines) if line.strip(_HEADER_DECORATION).casefold() == key]
    loose = [i for i, line in enumerate(lines) if key in line.casefold()]
    found = exact or loose
    if not found:
        return text
    return "\n".join(lines[found[-1] + 1:])


def strip_chatty_prefix(text: str) -> str:
    """Drop a first line that is a preamble ("Here is the rewritten text:") when more lines
    follow: one line may be the answer itself."""
    lines = text.strip().splitlines()
    if len(lines) > 1 and is_preamble(lines[0]):
        return "\n".join(lines[1:])
    return text


# A preamble is the whole line: optional interjections ("Sure!", "Certainly,"), then a phrase
# that announces the answer, then a colon. Content that merely mentions "here" or "rewritten"
# (or a sentence before the announcement) is not a preamble.
_INTERJECTION = (r"(?:sure thing|sure|certainly|of course|okay|ok|absolutely|alright|all right"
                 r"|great|yes|got it|no problem|gladly|happy to help)")
_ANSWER_WORD = (r"(?:rewrit\w*|revis\w*|version|text|paragraph|passage|edit\w*|improved|updated"
                r"|modified|polished|refined|rephrased|reworded|paraphrase\w*)")
_ANNOUNCE = (r"(?:here(?:'s|\u2019s|\s+is|\s+are)|below\s+is|the\s+following\s+is)"
             rf"[^.!?:\n]*\b{_ANSWER_WORD}\b[^.!?:\n]*")
_BARE = (r"here\s+(?:it\s+is|you\s+go|you\s+are)"
         r"|(?:the\s+)?(?:rewritten|revised|improved|updated|edited)\s+"
         r"(?:text|version|paragraph|passage)")
_PREAMBLE = re.compile(
    rf"(?:{_INTERJECTION}\s*[!,.]\s*)*(?:{_ANNOUNCE}|{_BARE})\s*:", re.IGNORECASE)
# Markdown emphasis or a heading marker around the whole line ("**Here is the text:**").
_LINE_DECORATION = " \t#*_"


# Preambles are short; the cap also bounds the regex's backtracking on a long first line.
_MAX_PREAMBLE_CHARS = 200


def is_preamble(line: str) -> bool:
    line = line.strip(_LINE_DECORATION)
    return len(line) <= _MAX_PREAMBLE_CHARS and _PREAMBLE.fullmatch(line) is not None
