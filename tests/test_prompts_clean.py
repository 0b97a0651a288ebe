"""Cleaning answers (METHOD.md section 3)."""

from __future__ import annotations

from steerdsl.prompts import builtin
from steerdsl.prompts.clean import clean_answer

DIRECT = builtin.builtin_prompt("direct", dict(builtin.PAPER_PHRASES))
COT = builtin.builtin_prompt("cot", dict(builtin.PAPER_PHRASES))


def test_chatty_prefix_removed_only_with_several_lines():
    assert clean_answer("Here is the rewritten text:\n\nThe dog slept.", DIRECT) == "The dog slept."
    assert clean_answer("HERE's my REWRITTEN version\nLine two.", DIRECT) == "Line two."
    # One line: it may be the answer itself.
    assert clean_answer("Here the rewritten rule applies.", DIRECT) == "Here the rewritten rule applies."
    # Needs both words.
    assert clean_answer("Here we go.\nText.", DIRECT) == "Here we go.\nText."
    # Only the leading line.
    assert clean_answer("A.\nHere is the rewritten text:\nB.", DIRECT) == "A.\nHere is the rewritten text:\nB."


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
