"""The loopback rewriter (support/rewriter.py) in a conversation: it also revises its own
answer when told how it missed (closed-loop feedback).

    with FakeOpenAI(default=feedback_rewriter.default) as server: ...

A request with one message is rewriter.rewrite's. A revision request (the probe prompt, the
answer, ..., a feedback message) is answered from the last answer: each sentence's "now make
it X." is read with the rewriter's lexicon (the prompt's phrases and modifiers) and moves that
goal by CORRECTION[goal] x what the modifier means (slightly 0.15, none 0.35, much 0.6); the
other goals stay. A pure function of the conversation: the same request, the same answer.
"""

from __future__ import annotations

import re

from support import rewriter
from support.fake_openai import Reply, Request
from support.rewriter import BOUNDS, Values, make_text, values_of

# How much of what a feedback sentence asks the revision does, per goal (1: as said).
CORRECTION = {"length": 1.0, "wordlen": 1.0, "variety": 1.0}
_FIX = re.compile(r"now make it (.*?)\.(?:\s|$)")


def read_fixes(message: str) -> dict[str, float]:
    """goal -> signed meaning of each "now make it X." of a feedback message."""
    out = {}
    for said in _FIX.findall(message):
        found = rewriter._LEXICON.get(said.strip())  # the rewriter's reading of intents
        if found is not None:
            out[found[0]] = found[1]
    return out


def revise(answer: str, message: str) -> str:
    values = values_of(answer).normalized()
    for goal, meaning in read_fixes(message).items():
        values[goal] += CORRECTION[goal] * meaning
    raw = {g: lo + min(max(values[g], 0.0), 1.0) * (hi - lo) for g, (lo, hi) in BOUNDS.items()}
    return make_text(Values(max(1, round(raw["length"])), max(raw["wordlen"] - 1, 3),
                            raw["variety"]))


def default(request: Request) -> Reply:
    messages = request.body.get("messages", [])
    if len(messages) < 3:
        return rewriter.default(request)
    return Reply.ok(revise(messages[-2]["content"], messages[-1]["content"]))
