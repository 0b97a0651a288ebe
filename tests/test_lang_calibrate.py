"""`calibrate on PROBE` in the language: the plan it builds, the stage graph, unchanged hashes
without it, and every check with its exact message and place."""

from __future__ import annotations

from pathlib import Path

import steerdsl
from steerdsl.plan import model as pm
from support.spec_blocks import APART, HEAD, LOCAL_MODEL, block, block_errors, write_blocks

BASE = {
    **HEAD,
    "fit": APART,
    "model": LOCAL_MODEL,
    "direct": "intervention direct { prompt direct }\n",
    "intervention": "intervention cal {\n  prompt direct\n  calibrate on t\n}\n",
    "evaluate": "evaluate { probe p  models m  interventions direct, cal }\n",
}
# Lines: experiment 1, corpus 2, goals 3-6, probe 7, fit 8, model 9, direct 10, intervention
# 11-14 (calibrate on line 13; the items of intervention(...) from line 12), evaluate 15.


def write(tmp_path: Path, **blocks: str) -> Path:
    return write_blocks(tmp_path, BASE, blocks)


def errors(tmp_path: Path, **blocks: str) -> list[str]:
    return block_errors(tmp_path, BASE, blocks)


def intervention(*lines: str) -> str:
    return block("intervention cal", *lines)


def test_the_plan_and_its_stages(tmp_path):
    plan = steerdsl.load(write(tmp_path)).plan()
    assert plan.intervention("cal") == pm.PromptIntervention(name="cal", prompt="direct",
                                                             calibrate="t")
    assert "calibrate" not in plan.intervention("direct").model_dump()
    calibrate = plan.stage("calibrate:m/cal")
    assert calibrate.inputs == ["probe:t", "space"]
    assert calibrate.key.probe == "t"
    assert "calibrate:m/cal" in plan.stage("generate:m/cal").inputs
    assert plan.stage("generate:m/direct").inputs == ["probe:p"]
    ids = [s.id for s in plan.stages]
    assert ids.index("calibrate:m/cal") < ids.index("generate:m/cal")


def test_without_calibrate_hashes_are_as_before(tmp_path):
    plain = steerdsl.load(write(tmp_path, intervention="",
                                evaluate="evaluate { probe p  models m  interventions direct }\n"))
    with_cal = steerdsl.load(write(tmp_path))
    assert plain.plan().stage("generate:m/direct").hash == \
        with_cal.plan().stage("generate:m/direct").hash


def test_the_generation_follows_its_fit(tmp_path):
    a = steerdsl.load(write(tmp_path)).plan()
    b = steerdsl.load(write(tmp_path, fit="probe t from c { sources 3 requests 2 per source "
                                          "active 1 exclude p }\n")).plan()
    assert a.stage("calibrate:m/cal").hash != b.stage("calibrate:m/cal").hash
    assert a.stage("generate:m/cal").hash != b.stage("generate:m/cal").hash
    assert a.stage("generate:m/direct").hash == b.stage("generate:m/direct").hash


def test_an_unknown_probe(tmp_path):
    assert errors(tmp_path, intervention=intervention("calibrate on tt")) == [
        "12:16: unknown probe 'tt' (defined: p, t); did you mean 't'?"]


def test_the_evaluated_probe(tmp_path):
    assert errors(tmp_path, intervention=intervention("calibrate on p")) == [
        "12:16: intervention 'cal' calibrates on probe 'p', which is the evaluated probe: "
        "calibrate on another probe that excludes it"]


def test_a_probe_of_the_same_corpus_must_exclude_the_evaluated_one(tmp_path):
    assert errors(tmp_path, fit="probe t from c { sources 2 requests 2 per source active 1 }\n"
                  ) == [
        "13:16: calibration probe 't' draws from corpus 'c' like the evaluated probe 'p': add "
        "`exclude p` to probe t so no source text is in both"]


def test_not_with_a_finetune(tmp_path):
    assert errors(tmp_path, intervention=intervention(
        "finetune grpo", "on t", "reward steering_error", "calibrate on t")) == [
        "15:3: 'calibrate' calibrates the requests of a prompt intervention, but intervention "
        "'cal' fine-tunes: calibrate a prompt intervention (or drop one of the two)"]


def test_not_with_an_underspecified_prompt(tmp_path):
    assert errors(tmp_path, intervention=intervention("prompt underspecified",
                                                      "calibrate on t")) == [
        "13:3: intervention 'cal' calibrates its requests, but its prompt 'underspecified' is "
        "underspecified (one vague request, no words per goal to calibrate): use a prompt "
        "based on direct or cot"]


def test_given_twice(tmp_path):
    found = errors(tmp_path, intervention=intervention("calibrate on t", "calibrate on t"))
    assert len(found) == 1 and found[0].startswith("13:3: 'calibrate' is set twice")


def test_phrases_for_the_calibration_probes_goals(tmp_path):
    found = errors(tmp_path,
                   goals="goals {\n  reading_difficulty = char_count normalize 0..100\n"
                         "  odd = char_count / word_count normalize 0..50\n}\n",
                   probe="probe p from c { sources 2 requests 2 per source active 1 "
                         "goals reading_difficulty }\n")
    assert any("goal 'odd' may be moved by probe 't' but prompt 'direct'" in f for f in found)
