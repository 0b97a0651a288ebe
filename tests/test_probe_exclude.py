"""Probe exclusion in a real store: a training probe never draws a source text of the probe it
excludes, and a training probe that shares source texts with the evaluated probe stops the
run before anything is trained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import steerdsl
from steerdsl.errors import RunError
from steerdsl.plan.model import SampledProbePlan
from steerdsl.probe.draw import draw_probe
from support.stores import read_rows

TEXTS = [f"Text {i}: " + "word " * (3 + (7 * i) % 40) for i in range(25)]

SPEC = """
experiment e {{ seed 3  store "e.duckdb" }}
corpus c {{ read "c.jsonl" text "text" }}
corpus d {{ read "d.jsonl" text "text" }}
goals {{
  length = char_count normalize 0..300
  words  = word_count normalize 0..50
}}
probe p from c {{ sources 10 unweighted  requests 2 per source  active 1 }}
probe t from {train_corpus} {{ sources {train_sources} unweighted  requests 2 per source  active 1
  {exclude} }}
model base {{ local "smollm2" }}
intervention rl {{ finetune grpo  on t  reward steering_error }}
evaluate {{ probe p  models base  interventions rl }}
"""


def _spec(tmp_path: Path, train_corpus: str = "c", train_sources: int = 15,
          exclude: str = "exclude p") -> Path:
    for name in ("c", "d"):  # d holds the same texts as c
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    path = tmp_path / "s.steer"
    path.write_text(SPEC.format(train_corpus=train_corpus, train_sources=train_sources,
                                exclude=exclude), encoding="utf-8")
    return path


def _sources(spec: steerdsl.Spec, probe: str) -> set[str]:
    """The source text hashes of the probe as the spec's plan draws it."""
    plan = spec.plan()
    stage = plan.stage(f"probe:{probe}")
    return {h for (h,) in read_rows(Path(plan.experiment.store),
                                    "SELECT DISTINCT text_hash FROM probe_rows "
                                    f"WHERE probe_hash = '{stage.hash}'")}


def test_a_probe_never_draws_the_texts_of_the_probes_it_excludes(tmp_path):
    spec = steerdsl.load(_spec(tmp_path))
    assert spec.plan().stage("probe:t").inputs == ["space", "measure:c", "probe:p"]
    result = spec.run(until="probe", quiet=True)
    assert result.status == "ok"
    p, t = _sources(spec, "p"), _sources(spec, "t")
    assert len(p) == 10 and len(t) == 15
    assert not p & t
    assert len(p | t) == len(TEXTS)  # t drew every text p left


def test_too_few_texts_left_after_the_exclusion(tmp_path):
    with pytest.raises(RunError, match=r"probe t: asks for 16 sources but corpus c has only 15 "
                                       r"usable texts \(10 more are sources of the probes it "
                                       r"excludes: p\)"):
        steerdsl.load(_spec(tmp_path, train_sources=16)).run(until="probe", quiet=True)


def test_a_training_probe_sharing_texts_with_the_evaluated_probe_stops_the_run(tmp_path):
    # Another corpus with the same texts: the checker cannot know, the run does.
    spec = steerdsl.load(_spec(tmp_path, train_corpus="d", train_sources=25, exclude=""))
    with pytest.raises(RunError) as info:
        spec.run(until="probe", quiet=True)
    assert str(info.value) == (
        "training probe t shares 10 source texts with the evaluated probe p: the tuned model "
        "would be evaluated on texts it was trained on; add `exclude p` to probe t (or draw "
        "it from another corpus)")
    # excluding p (across corpora: by text) draws t from the texts p did not use
    spec = steerdsl.load(_spec(tmp_path, train_corpus="d", train_sources=15))
    assert spec.run(until="probe", quiet=True).status == "ok"
    assert not _sources(spec, "p") & _sources(spec, "t")


def test_the_draw_leaves_excluded_sources_out():
    plan = SampledProbePlan(name="t", corpus="c", goals=["a"], sources=3, requests_per_source=1,
                            active_min=1, active_max=1, seed=5, weighting="none")
    sources = np.linspace(0.1, 0.9, 6)[:, None]
    excluded = np.array([True, False, True, False, False, True])
    drawn = draw_probe(plan, sources, excluded=excluded)
    assert sorted(drawn.source_index.tolist()) == [1, 3, 4]
    assert drawn.weights[excluded].tolist() == [0, 0, 0]
