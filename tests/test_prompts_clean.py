"""Cleaning answers (METHOD.md section 3)."""

from __future__ import annotations

import pytest

from steerdsl.prompts import builtin
from steerdsl.prompts.clean import clean_answer

DIRECT = builtin.builtin_prompt("direct", dict(builtin.PAPER_PHRASES))
COT = builtin.builtin_prompt("cot", dict(builtin.PAPER_PHRASES))


# First lines that announce the answer: removed when more lines follow.
PREAMBLES = [
    "Here is the rewritten text:",
    "Sure! Here's a more formal version:",
    "Certainly, here is the revised paragraph:",
    "Here\u2019s the rewritten text:",
    "HERE IS THE REWRITTEN TEXT:",
    "  Here are the rewritten sentences :  ",
    "**Here is the rewritten text:**",
    "## Here's a simpler version of the passage:",
    "Of course. Here is a shorter version, keeping the meaning:",
    "Sure thing! Absolutely, here's my edit:",
    "Okay, here it is:",
    "Here you go:",
    "Below is the improved text:",
    "The following is a paraphrase:",
    "Rewritten text:",
    "The revised version:",
]

# First lines that are content: kept.
CONTENT = [
    "There, in 1990, the rules were rewritten from scratch.",
    "There, in 1990, the rules were rewritten from scratch:",
    "HERE's my REWRITTEN version",
    "Here is the rewritten text.",
    "Here is the rewritten text: the dog slept.",
    "Here we go:",
    "Here are the three rules the committee adopted:",
    "Where the text was rewritten:",
    "Notes on the rewritten text:",
    # Several sentences ending with a colon: the announcement follows content.
    "The law was rewritten in 1990. Here is the new version:",
    "It rained. Here is the rewritten text:",
    "Sure enough, the council voted. Here are the revised rules:",
    "Here is the text, as the council revised it. It reads:",
]


@pytest.mark.parametrize("first", PREAMBLES)
def test_preamble_first_line_removed(first):
    raw = f"{first}\n\nThe dog slept.\nIt dreamt."
    assert clean_answer(raw, DIRECT) == "The dog slept.\nIt dreamt."


@pytest.mark.parametrize("first", CONTENT)
def test_content_first_line_kept(first):
    raw = f"{first}\nThe dog slept."
    assert clean_answer(raw, DIRECT) == raw.strip()


@pytest.mark.parametrize("line", PREAMBLES + CONTENT)
def test_single_line_answer_kept(line):
    # One line may be the answer itself, even when it reads like a preamble.
    assert clean_answer(line, DIRECT) == line.strip()


def test_only_the_first_line_is_a_preamble():
    raw = "A.\nHere is the rewritten text:\nB."
    assert clean_answer(raw, DIRECT) == raw
    raw = "Here is the rewritten text:\nHere is the rewritten text:\nB."
    assert clean_answer(raw, DIRECT) == "Here is the rewritten text:\nB."


def test_long_first_line_is_content():
    first = "Here is the rewritten text " + "and more " * 500 + ":"
    assert clean_answer(f"{first}\nB.", DIRECT) == f"{first}\nB."


def test_think_blocks_removed_for_any_model():
    raw = "<think>\nThe user wants it shorter.\n</think>\n\nShort text."
    assert clean_answer(raw, DIRECT) == "Short text."
    assert clean_answer("<THINK>a</THINK>x<think>b</think>y", DIRECT) == "xy"
    # Opening tag dropped by the provider.
    assert clean_answer("reasoning...</think>\nAnswer.", DIRECT) == "Answer."
    # Cut off inside the reasoning: nothing is an answer.
    assert clean_answer("<think>still thinking", DIRECT) == ""
    # Think block, then a chatty prefix.
    raw = "<think>x</think>\nHere is the rewritten text:\nFinal."
    assert clean_answer(raw, DIRECT) == "Final."


def test_cot_answer_after_header():
    raw = ("## Edits\n\n1. Use shorter words.\n2. Mention the rewritten text header.\n\n"
           "## Rewritten text\n\nThe cat sat.\nIt was happy.")
    assert clean_answer(raw, COT) == "The cat sat.\nIt was happy."
    assert clean_answer("**Rewritten Text:**\nShort.", COT) == "Short."
    # No header: the whole (cleaned) answer.
    assert clean_answer("Just the text.", COT) == "Just the text."
    # The direct prompt never extracts.
    assert clean_answer("## Rewritten text\nX", DIRECT) == "## Rewritten text\nX"
