"""The built-in measures: METHOD.md 1.1's definitions on explicit token lists and, through the
real spaCy pipeline, on texts whose tags were read off and counted by hand."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from steerdsl import catalog
from steerdsl.goals.builtins import IMPLEMENTED, SPACY_MEASURES, TEXT_MEASURES
from steerdsl.goals.engine import compute_builtins
from steerdsl.goals.formality import heylighen_dewaele
from steerdsl.goals.mtld import mtld, mtld_pass
from steerdsl.goals.nlp import EXCLUDED, load_nlp

FOX = ("The quick brown fox jumps over the lazy dog. It was a sunny day in the park, and "
       "everyone seemed happy.")
PAPER_FOUR = ["flesch_kincaid_grade", "heylighen_dewaele", "mtld", "token_count"]


def test_implementations_match_the_catalog():
    assert IMPLEMENTED == set(catalog.MEASURES)
    assert not set(SPACY_MEASURES) & set(TEXT_MEASURES)
    for name in PAPER_FOUR:
        assert name in catalog.MEASURES
    assert set(catalog.PAPER_GOALS.values()) == set(PAPER_FOUR)


# --- MTLD on explicit token lists ---------------------------------------------------------

def test_mtld_closes_factors_at_the_threshold():
    # forward: a 1/1, b 2/2, a 2/3 = .667 <= .72 -> factor 1; b 1/1, c 2/2, c 2/3 -> factor 2;
    # nothing left: 6 / 2 = 3. backward: c, c (1/2) -> factor 1; b, a, b (2/3) -> factor 2;
    # a (1/1): partial (1 - 1) / .28 = 0: 6 / 2 = 3.
    tokens = ["a", "b", "a", "b", "c", "c"]
    assert mtld_pass(tokens) == 3.0
    assert mtld_pass(reversed(tokens)) == 3.0
    assert mtld(tokens) == 3.0


def test_mtld_partial_factor():
    # forward: x, x (1/2 = .5) -> factor 1; y, z (2/2): partial 0 -> 4 / 1 = 4.
    # backward: z, y, x (3/3), x (3/4 = .75 > .72): no factor; partial (1 - .75) / .28
    # = 0.892857...; 4 / 0.892857 = 4.48. Mean (4 + 4.48) / 2 = 4.24.
    tokens = ["x", "x", "y", "z"]
    assert mtld_pass(tokens) == 4.0
    assert mtld_pass(reversed(tokens)) == pytest.approx(4.48, abs=1e-12)
    assert mtld(tokens) == pytest.approx(4.24, abs=1e-12)


def test_mtld_edge_cases():
    assert mtld([]) == 0.0  # no tokens
    assert mtld(["solo"]) == 1.0  # TTR 1, partial 0: no factor -> its token count
    assert mtld(["a", "b", "c", "d"]) == 4.0  # all distinct: no factor in either pass
    assert mtld(["a", "a"]) == 2.0  # 1/2 closes a factor at once: 2 / 1
    assert mtld(["a"] * 10) == 2.0  # a factor every 2 tokens: 10 / 5


# --- formality on explicit tags -----------------------------------------------------------

def test_formality_counts_each_class():
    words = ["the", "a", "this", "cat", "big", "on", "she", "runs", "fast", "wow", "is", "and"]
    pos = ["DET", "DET", "DET", "NOUN", "ADJ", "ADP", "PRON", "VERB", "ADV", "INTJ", "AUX",
           "CCONJ"]
    # plus: articles the, a (2); noun 1; adj 1; adp 1 -> 5. minus: pron, verb, adv, intj -> 4.
    # "this" (DET, not an article), AUX, CCONJ only count in the total (12).
    # F = (5/12*100 - 4/12*100 + 100) / 2 = 54.1666...
    assert heylighen_dewaele(words, pos) == pytest.approx(54.16666666666667, abs=1e-12)
    assert heylighen_dewaele([], []) == 50.0
    assert heylighen_dewaele(["go"], ["VERB"]) == 0.0
    assert heylighen_dewaele(["an"], ["DET"]) == 100.0


# --- through the real pipeline ------------------------------------------------------------

def measure(text: str, names=None) -> dict[str, float]:
    names = list(names or IMPLEMENTED)
    batch = compute_builtins([text], names)
    assert batch.errors == []
    return dict(zip(batch.names, batch.values[0]))


def test_pipeline_keeps_the_parser():
    nlp = load_nlp()
    assert "parser" in nlp.pipe_names and "tagger" in nlp.pipe_names
    assert not set(EXCLUDED) & set(nlp.pipe_names)


# Every built-in measure of a few texts, and what the process had imported, as JSON.
_MEASURE_IN_A_FRESH_PROCESS = """
import json, sys
if sys.argv[1] == "torch first":
    import torch
from steerdsl.goals.builtins import IMPLEMENTED
from steerdsl.goals.engine import compute_builtins
texts = [%r, "Hey!! lol, that's sooo cool :) wanna come?", "Yes."]
batch = compute_builtins(texts, sorted(IMPLEMENTED))
torch_then = "torch" in sys.modules
import torch  # importable afterwards: a local model or training needs it
print(json.dumps({"values": batch.values.tolist(), "errors": batch.errors,
                  "torch_when_measuring": torch_then}))
""" % FOX


def test_spacy_is_loaded_without_torch_and_measures_the_same():
    """load_nlp keeps torch out of the process (2 s and about 180 MB, also in every forked
    measuring process); a process that imported torch first gets the same values, bit for bit."""
    pytest.importorskip("torch")  # the train extra: without it there is nothing to keep out

    def measured(how: str) -> dict:
        out = subprocess.run([sys.executable, "-c", _MEASURE_IN_A_FRESH_PROCESS, how],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    without, first = measured("spacy alone"), measured("torch first")
    assert without["torch_when_measuring"] is False
    assert first["torch_when_measuring"] is True
    assert without["errors"] == first["errors"] == []
    assert without["values"] == first["values"]
    assert len(without["values"][0]) == len(IMPLEMENTED)


def test_fox_text_paper_four():
    v = measure(FOX, PAPER_FOUR)
    # METHOD.md 5: textstat 0.7.8, 21 words, 2 sentences, 27 syllables.
    assert v["flesch_kincaid_grade"] == 3.6764285714285734
    # spaCy tags of the 21 alphabetic words: The/DET quick/ADJ brown/ADJ fox/NOUN jumps/VERB
    # over/ADP the/DET lazy/ADJ dog/NOUN It/PRON was/AUX a/DET sunny/ADJ day/NOUN in/ADP
    # the/DET park/NOUN and/CCONJ everyone/PRON seemed/VERB happy/ADJ.
    # noun 4 + adj 5 + adp 2 + article 4 - pron 2 - verb 2 = 11 -> (11/21*100 + 100)/2.
    assert v["heylighen_dewaele"] == pytest.approx((11 / 21 * 100 + 100) / 2, abs=1e-12)
    assert v["heylighen_dewaele"] == pytest.approx(76.19047619047619, abs=1e-12)
    # 19 distinct of 21 words ("the" thrice); the TTR never falls to .72 in either direction:
    # partial factor (1 - 19/21) / .28 = 0.3401..., 21 / 0.3401 = 61.74 both ways.
    assert v["mtld"] == pytest.approx(61.74, abs=1e-9)
    # 21 words + 3 punctuation marks.
    assert v["token_count"] == 24.0


def test_formal_sentence():
    v = measure("The committee approved the proposal after a lengthy review of the evidence.")
    # 12 words: The/DET committee/NOUN approved/VERB the/DET proposal/NOUN after/ADP a/DET
    # lengthy/ADJ review/NOUN of/ADP the/DET evidence/NOUN.
    # noun 4 + adj 1 + adp 2 + article 4 - verb 1 = 10 -> (10/12*100 + 100)/2 = 91.666...
    assert v["heylighen_dewaele"] == pytest.approx(91.66666666666667, abs=1e-12)
    # 10 types of 12 at the end, no factor: 12 / ((1 - 10/12)/.28) = 20.16 both ways.
    assert v["mtld"] == pytest.approx(20.16, abs=1e-9)
    assert v["token_count"] == 13.0
    assert v["word_count"] == 12.0
    assert v["sentence_count"] == 1.0
    assert v["mean_sentence_length"] == 13.0
    # content words: 4 nouns + 1 verb + 1 adj = 6 of 12
    assert v["lexical_density"] == 50.0
    assert v["type_token_ratio"] == pytest.approx(10 / 12)
    assert v["char_count"] == 75.0


def test_informal_sentence_and_a_closing_factor():
    v = measure("I think it is what it is.")
    # I/PRON think/VERB it/PRON is/AUX what/PRON it/PRON is/AUX: pron 4, verb 1 (AUX is no
    # verb) of 7 -> (-5/7*100 + 100)/2 = 14.2857...
    assert v["heylighen_dewaele"] == pytest.approx(14.285714285714285, abs=1e-12)
    # forward: i think it is what (5/5), it (5/6), is (5/7 = .714 <= .72): factor, nothing
    # left: 7/1. backward: is it what is (3/4), it (3/5): factor; think i: partial 0: 7/1.
    assert v["mtld"] == 7.0
    assert v["token_count"] == 8.0


def test_interjections_and_sentences():
    v = measure("Hey! Wow, I really love this so much, you know?")
    # Hey/INTJ Wow/INTJ I/PRON really/ADV love/VERB this/PRON so/ADV much/ADV you/PRON
    # know/VERB: everything counts against formality: (-100 + 100)/2 = 0.
    assert v["heylighen_dewaele"] == 0.0
    assert v["mtld"] == 10.0  # 10 distinct words: no factor -> the token count
    assert v["token_count"] == 14.0
    assert v["sentence_count"] == 2.0
    assert v["mean_sentence_length"] == 7.0
    assert v["type_token_ratio"] == 1.0


def test_whitespace_is_not_a_token():
    v = measure("  Two sentences here.\n\nAnd   a third one follows, doesn't it?  ")
    # 18 spaCy tokens of which 4 are whitespace; "n't" is a token but not alphabetic.
    assert v["token_count"] == 14.0
    assert v["word_count"] == 10.0
    assert v["sentence_count"] == 2.0
    # sentences/NOUN one/NOUN third/ADJ a/article vs here/ADV follows/VERB does/VERB it/PRON
    assert v["heylighen_dewaele"] == 50.0


def test_empty_text():
    v = measure("")
    assert v["flesch_kincaid_grade"] == 0.0  # METHOD.md 1.1 (old textstat gave -15.7)
    assert v["heylighen_dewaele"] == 50.0
    assert v["mtld"] == 0.0
    assert v["token_count"] == 0.0
    assert v["sentence_count"] == 0.0
    assert v["mean_sentence_length"] == 0.0
    assert all(math.isfinite(x) for x in v.values())


@pytest.mark.parametrize("text", [
    "word", "12345 678 9", "😀 🎉 🚀", "Das ist ein ganz normaler deutscher Satz.",
    "这是一个中文句子。", "!!! ??? ...", "x" * 5000, "\x00\x01 control \u200b chars",
])
def test_odd_texts_give_finite_values(text):
    v = measure(text)
    assert set(v) == IMPLEMENTED
    assert all(math.isfinite(x) for x in v.values())


def test_numbers_and_emoji_hand_values():
    v = measure("12345 678 9", PAPER_FOUR)
    assert v == {"flesch_kincaid_grade": v["flesch_kincaid_grade"], "heylighen_dewaele": 50.0,
                 "mtld": 0.0, "token_count": 3.0}  # no alphabetic token
    e = measure("😀 🎉 🚀", ["token_count", "mtld", "flesch_kincaid_grade"])
    assert e == {"token_count": 3.0, "mtld": 0.0, "flesch_kincaid_grade": 0.0}


def test_too_long_for_spacy_is_a_per_text_error():
    from steerdsl.goals.engine import MAX_SPACY_CHARS

    long = "a" * (MAX_SPACY_CHARS + 1)
    batch = compute_builtins(["short text", long], ["token_count", "char_count"])
    assert batch.values[0].tolist() == [2.0, 10.0]
    assert math.isnan(batch.values[1, 0]) and batch.values[1, 1] == MAX_SPACY_CHARS + 1
    assert batch.errors == [(1, "token_count", "text too long for spaCy: 1000001 characters "
                                               "(limit 1000000)")]
