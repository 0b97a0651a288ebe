"""The loopback rewriter (tests/support/rewriter.py): its world is what spaCy measures, and it
reads steerdsl's own direct prompts."""

from __future__ import annotations

import pytest

from steerdsl.goals.engine import compute_builtins
from steerdsl.plan.model import PromptIntervention
from steerdsl.prompts.builtin import builtin_prompt
from steerdsl.prompts.render import row_prompt
from support import rewriter
from support.rewriter import Values, make_text, read_requests, rewrite, values_of

PROMPT = builtin_prompt("direct", phrases=rewriter.PHRASES)
INTERVENTION = PromptIntervention(name="direct", prompt="direct")


def prompt_for(deltas: dict[str, float], text: str) -> str:
    return row_prompt(7, PROMPT, INTERVENTION, 3, deltas, text)


def test_spacy_measures_what_the_rewriter_computes():
    texts = rewriter.corpus_texts(20, seed=1) + [make_text(Values(70, 7.3, 0.25))]
    batch = compute_builtins(texts, ["word_count", "char_count", "type_token_ratio"])
    for text, (words, chars, ttr) in zip(texts, batch.values):
        v = values_of(text)
        assert words == v.words
        assert chars / words == pytest.approx(v.letters + 1)
        assert ttr == pytest.approx(v.variety)


def test_make_text_hits_its_values():
    v = values_of(make_text(Values(40, 5.5, 0.5)))
    assert (v.words, v.letters, v.variety) == (40, 5.5, 0.5)


def test_reads_the_requests_of_a_direct_prompt():
    text = rewriter.corpus_texts(1)[0]
    moves, keep = read_requests(prompt_for({"length": 0.6, "wordlen": -0.15, "variety": 0.3},
                                           text))
    assert moves == {"length": 0.6, "wordlen": -0.15, "variety": 0.35}
    assert keep == set()
    assert read_requests(prompt_for({}, text)) == ({}, set())


def test_overshoots_undershoots_and_has_a_side_effect():
    text = make_text(Values(20, 5.0, 0.6))
    before = values_of(text).normalized()
    after = values_of(rewrite(prompt_for({"length": 0.3, "wordlen": 0.3}, text))).normalized()
    assert after["length"] - before["length"] == pytest.approx(0.7)  # 2 x 0.35
    assert after["wordlen"] - before["wordlen"] == pytest.approx(0.14, abs=0.01)  # 0.4 x 0.35
    assert after["variety"] - before["variety"] == pytest.approx(-0.35, abs=0.01)  # -0.5 x 0.7


def test_keep_unchanged_stops_the_side_effect():
    text = make_text(Values(40, 5.0, 0.6))
    prompt = prompt_for({"length": 0.1}, text).replace(
        "slightly longer", "slightly longer, and keep variety unchanged")
    assert read_requests(prompt) == ({"length": 0.15}, {"variety"})
    after = values_of(rewrite(prompt))
    assert after.variety == pytest.approx(0.6, abs=0.02)
    assert rewrite(prompt) == rewrite(prompt)  # deterministic
