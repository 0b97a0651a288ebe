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
    """Drop a leading "Here is the rewritten text:" line when more lines follow."""
    lines = text.strip().splitlines()
    if len(lines) > 1:
        first = lines[0].casefold()
        if "here" in first and "rewritten" in first:
            return "\n".join(lines[1:])
    return text
