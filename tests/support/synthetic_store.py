"""A realistic synthetic store, written through the store's own schema, for tests and benchmarks.

It fills the same tables `steerdsl run` and `import-reference` fill (runs with a real Plan,
current, texts, goal_space, probes, probe_rows, probe_goals, generations, calls, outputs), so
the store's views score it like any other. Answers are made up: each model moves the requested
goals by a model-specific gain with noise, and drags some unrequested goals along (text length
shrinks, reading difficulty follows formality), which gives the report real side effects to show.
Everything is a pure function of `seed`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from steerdsl.plan import keys, model as pm
from steerdsl.plan.hashing import builtin_measure_id, stable_hash
from steerdsl.store.bulk import insert_columns
from steerdsl.store.db import open_store
from steerdsl.texts import text_hash

PAPER_GOALS: dict[str, tuple[str, float, float]] = {
    # goal -> (built-in measure, lo, hi): the paper's fixed ranges (METHOD.md 1.3)
    "reading_difficulty": ("flesch_kincaid_grade", 2.8, 12.9),
    "formality": ("heylighen_dewaele", 40.37, 69.121634),
    "textual_diversity": ("mtld", 44.84394871794872, 128.54409583333333),
    "text_length": ("token_count", 78.0, 1509.0),
}

# model -> (gain on requested goals, noise sd, unrequested drift scale)
MODEL_BEHAVIOUR: dict[str, tuple[float, float, float]] = {
    "llama": (0.55, 0.12, 1.0),
    "gpt": (0.85, 0.06, 0.6),
    "qwen": (0.7, 0.09, 0.8),
}

_WORDS = (
    "the council said on monday that the new bridge would open next spring after years of "
    "delays and a budget that grew by almost half while residents waited patiently for a "
    "crossing that many had stopped believing in however the engineers insisted the design "
    "was sound and that every test had been passed with room to spare"
).split()


@dataclass
class SyntheticStore:
    path: Path
    plan: pm.Plan
    models: list[str]
    interventions: dict[str, int]  # name -> samples per request
    probe_rows: int
    goals: list[str]
    calls: int = 0
    failed: int = 0
    gen_hashes: dict[tuple[str, str], str] = field(default_factory=dict)


def _text(rng: np.random.Generator, words: int) -> str:
    picked = rng.choice(_WORDS, size=words)
    sentences, out = [], []
    for i, w in enumerate(picked):
        out.append(w)
        if len(out) >= 12 and (rng.random() < 0.15 or i == len(picked) - 1):
            sentences.append(" ".join(out).capitalize() + ".")
            out = []
    if out:
        sentences.append(" ".join(out).capitalize() + ".")
    return " ".join(sentences)


def _plan(path: Path, name: str, seed: int, goals: dict[str, tuple[str, float, float]],
          models: list[str], interventions: dict[str, int], n_sources: int,
          per_source: int, active: tuple[int, int]) -> pm.Plan:
    goal_plans = []
    for g, (measure, lo, hi) in goals.items():
        mid, versions = builtin_measure_id(measure)
        goal_plans.append(pm.GoalPlan(name=g, measure=pm.BuiltinMeasure(name=measure),
                                      normalize=pm.FixedNorm(lo=lo, hi=hi), measure_id=mid,
                                      versions=versions))
    corpus = pm.CorpusPlan(name="seeds", sources=[pm.CorpusSource(
        pattern=str(path.parent / "seeds.jsonl"), format="jsonl", text_field="text", files=[])])
    probe = pm.SampledProbePlan(name="steerbench", corpus="seeds", goals=list(goals),
                                sources=n_sources, requests_per_source=per_source,
                                active_min=active[0], active_max=active[1], seed=seed)
    model_plans = [pm.ModelPlan(name=m, provider="litellm", model=f"hosted_vllm/{m}",
                                api_base="http://127.0.0.1:8000/v1",
                                sampling=pm.SamplingParams(temperature=0.0)) for m in models]
    prompt = pm.PromptPlan(name="direct", base="direct",
                           template="Please rewrite the following, but make it {requests}."
                                    "{suffix}\n\n{text}",
                           phrases={g: pm.Phrase(up=f"more {g}", down=f"less {g}") for g in goals},
                           modifiers=[], negative_text=" You MUST not change anything else.",
                           no_explain_text=" Respond with only the rewritten text.")
    inter_plans = [pm.PromptIntervention(name=i, prompt="direct", negative=i != "direct",
                                       samples=n,
                                       sampling=pm.SamplingParams(temperature=1.0 if n > 1
                                                                  else None))
                   for i, n in interventions.items()]
    stages = [pm.Stage(key=keys.CorpusKey(corpus="seeds"), inputs=[],
                       hash=stable_hash(["c", seed])),
              pm.Stage(key=keys.MeasureKey(corpus="seeds"), inputs=["corpus:seeds"],
                       hash=stable_hash(["m", seed])),
              pm.Stage(key=keys.SpaceKey(), inputs=["measure:seeds"],
                       hash=stable_hash(["s", seed, list(goals)])),
              pm.Stage(key=keys.ProbeKey(probe="steerbench"), inputs=["space"],
                       hash=stable_hash(["p", seed, n_sources, per_source]))]
    for m in models:
        for i in interventions:
            gen = keys.GenerateKey(model=m, intervention=i, probe="steerbench")
            stages.append(pm.Stage(key=gen, inputs=["probe:steerbench"],
                                   hash=stable_hash(["g", seed, m, i, interventions[i]])))
            stages.append(pm.Stage(key=gen.score, inputs=[gen.id],
                                   hash=stable_hash(["sc", seed, m, i])))
    return pm.Plan(spec_path=str(path.with_suffix(".steer")),
                   spec_hash=stable_hash(["spec", name, seed]),
                   experiment=pm.ExperimentPlan(name=name, seed=seed, store=str(path)),
                   goals=goal_plans, corpora=[corpus], probes=[probe], models=model_plans,
                   prompts=[prompt], interventions=inter_plans,
                   evaluate=pm.EvaluatePlan(probe="steerbench", models=models,
                                            interventions=list(interventions)),
                   stages=stages, versions={"duckdb": "synthetic", "numpy": np.__version__})


@dataclass
class Generation:
    """The answers of one model x intervention: `rows` (probe row ids) x `samples`."""

    model: str
    intervention: str
    samples: int
    rows: np.ndarray  # probe row id of each call
    sample: np.ndarray  # sample index of each call
    output: np.ndarray  # calls x d, normalized goal values of the answer
    ok: np.ndarray  # bool per call; failed calls have no answer and no outputs
    answers: list[str | None]


def write_synthetic_store(
    path: str | Path,
    *,
    name: str = "synthetic",
    models: tuple[str, ...] = ("llama", "gpt"),
    interventions: dict[str, int] | None = None,
    n_sources: int = 8,
    per_source: int = 4,
    goals: dict[str, tuple[str, float, float]] | None = None,
    active: tuple[int, int] = (1, 3),
    failed_fraction: float = 0.02,
    words: int = 60,
    seed: int = 0,
) -> SyntheticStore:
    """Write a complete store at `path` (created; must not exist) and describe what is in it."""
    interventions = dict(interventions or {"direct": 1, "best4": 4})
    goals = dict(goals or PAPER_GOALS)
    d = len(goals)
    rng = np.random.default_rng(seed)

    # Sources and the probe (a simplified draw: the report does not care how rows were drawn).
    source_texts = [_text(rng, words + int(rng.integers(0, words))) for _ in range(n_sources)]
    source_vec = rng.uniform(0.05, 0.95, size=(n_sources, d))
    n_rows = n_sources * per_source
    src_index = np.repeat(np.arange(n_sources), per_source)
    z0 = source_vec[src_index]
    delta = np.full((n_rows, d), np.nan)
    for r in range(n_rows):
        k = int(rng.integers(active[0], active[1] + 1))
        for j in rng.choice(d, size=min(k, d), replace=False):
            s = z0[r, j]
            lo_side = (max(-s, -0.7), -0.1) if s >= 0.1 else None
            hi_side = (0.1, min(1 - s, 0.7)) if s <= 0.9 else None
            sides = [x for x in (lo_side, hi_side) if x and x[1] > x[0]]
            lengths = np.array([b - a for a, b in sides])
            u = rng.uniform(0, lengths.sum())
            side = 0 if u < lengths[0] else 1
            delta[r, j] = sides[side][0] + (u - (lengths[0] if side else 0))

    generations = []
    for m in models:
        gain, noise, drift = MODEL_BEHAVIOUR.get(m, (0.7, 0.1, 0.8))
        for inter, n_samples in interventions.items():
            n = n_rows * n_samples
            row_id = np.repeat(np.arange(n_rows), n_samples)
            zs, ds = z0[row_id], np.nan_to_num(delta[row_id])
            move = gain * ds + rng.normal(0, noise, size=(n, d))
            # Side effects on unrequested goals: length shrinks, difficulty follows formality.
            inactive = np.isnan(delta[row_id])
            move[:, -1] += np.where(inactive[:, -1], -0.15 * drift, 0.0)
            if d >= 2:
                move[:, 0] += np.where(inactive[:, 0], 0.5 * drift * ds[:, 1], 0.0)
            zh = np.clip(zs + move, 0.0, 1.0)
            ok = rng.random(n) >= failed_fraction
            answers = [_text(rng, max(5, int(words * (0.5 + zh[i, -1])))) if ok[i] else None
                       for i in range(n)]
            generations.append(Generation(m, inter, n_samples, row_id,
                                          np.tile(np.arange(n_samples), n_rows), zh, ok,
                                          answers))
    return write_store(path, name=name, goals=goals, source_texts=source_texts,
                       src_index=src_index, z0=z0, delta=delta, generations=generations,
                       active=active, seed=seed, rng=rng)


# METHOD.md section 5: 4 goals rd, td, tl, fm; sources 0.5 unless noted; only rd active.
WORKED_GOALS = {"rd": ("flesch_kincaid_grade", 2.8, 12.9), "td": ("mtld", 44.8, 128.5),
                "tl": ("token_count", 78.0, 1509.0), "fm": ("heylighen_dewaele", 40.37, 69.12)}
WORKED_CASES: dict[str, tuple[list[float], list[float | None], list[float]]] = {
    # case -> (source, delta, output), in WORKED_GOALS order
    "perfect": ([0.5] * 4, [0.3, None, None, None], [0.8, 0.5, 0.5, 0.5]),
    "no_move": ([0.5] * 4, [0.3, None, None, None], [0.5, 0.5, 0.5, 0.5]),
    "overshoot": ([0.3, 0.5, 0.5, 0.5], [0.3, None, None, None], [0.95, 0.5, 0.5, 0.5]),
    "side_effect_only": ([0.5] * 4, [0.3, None, None, None], [0.5, 0.9, 0.5, 0.5]),
    "wrong_way": ([0.5] * 4, [0.3, None, None, None], [0.2, 0.5, 0.5, 0.5]),
}


def write_worked_cases_store(path: str | Path, intervention: str = "direct") -> SyntheticStore:
    """METHOD.md's worked cases: one probe row per case, answered only by a model named after
    the case, so each model's summary is exactly that case's metrics."""
    cases = list(WORKED_CASES)
    z0 = np.array([WORKED_CASES[c][0] for c in cases], dtype=float)
    delta = np.array([[np.nan if v is None else v for v in WORKED_CASES[c][1]] for c in cases])
    texts = [f"Source text of the {c.replace('_', ' ')} case <b>&amp;</b>." for c in cases]
    generations = [Generation(c, intervention, 1, np.array([k]), np.array([0]),
                              np.array([WORKED_CASES[c][2]], dtype=float), np.array([True]),
                              [f"Answer of the {c.replace('_', ' ')} case <script>x</script>."])
                   for k, c in enumerate(cases)]
    return write_store(path, name="worked", goals=WORKED_GOALS, source_texts=texts,
                       src_index=np.arange(len(cases)), z0=z0, delta=delta,
                       generations=generations, active=(1, 1), seed=0)


def write_store(path: str | Path, *, name: str, goals: dict[str, tuple[str, float, float]],
                source_texts: list[str], src_index: np.ndarray, z0: np.ndarray,
                delta: np.ndarray, generations: list[Generation], active: tuple[int, int],
                seed: int, rng: np.random.Generator | None = None) -> SyntheticStore:
    """Write a store from explicit probe rows and answers (normalized goal values)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(path)
    rng = rng or np.random.default_rng(seed)
    goal_names = list(goals)
    d = len(goal_names)
    n_sources, n_rows = len(source_texts), len(z0)
    interventions = {g.intervention: g.samples for g in generations}
    models = list(dict.fromkeys(g.model for g in generations))
    plan = _plan(path, name, seed, goals, models, interventions, n_sources,
                 max(1, n_rows // max(1, n_sources)), active)
    hashes = {s.id: s.hash for s in plan.stages}
    probe_hash, space_hash = hashes["probe:steerbench"], hashes["space"]
    lo = np.array([goals[g][1] for g in goal_names])
    hi = np.array([goals[g][2] for g in goal_names])
    target = z0 + delta
    intents = [", and ".join(f"{'more' if delta[r, j] > 0 else 'less'} {goal_names[j]}"
                             for j in range(d) if not np.isnan(delta[r, j]))
               or "as close to the original as possible" for r in range(n_rows)]

    con = open_store(path)
    try:
        _insert(con, "texts", {"text_hash": [text_hash(t) for t in source_texts],
                               "text": source_texts})
        _insert(con, "corpus_texts", {
            "corpus_hash": [hashes["corpus:seeds"]] * n_sources,
            "position": list(range(n_sources)),
            "text_id": [f"seeds.jsonl:{i + 1}" for i in range(n_sources)],
            "label": ["news"] * n_sources,
            "text_hash": [text_hash(t) for t in source_texts]})
        _insert(con, "goal_space", {
            "space_hash": [space_hash] * d, "position": list(range(d)), "goal": goal_names,
            "measure_id": [g.measure_id for g in plan.goals], "lo": lo.tolist(),
            "hi": hi.tolist()})
        _insert(con, "probes", {"probe_hash": [probe_hash], "name": ["steerbench"],
                                "space_hash": [space_hash], "n_rows": [n_rows], "auc": [0.61],
                                "info": ['{"synthetic": true}']})
        _insert(con, "probe_rows", {
            "probe_hash": [probe_hash] * n_rows, "row_id": list(range(n_rows)),
            "text_hash": [text_hash(source_texts[i]) for i in src_index],
            "text_id": [f"seeds.jsonl:{i + 1}" for i in src_index]})
        rows = np.repeat(np.arange(n_rows), d)
        _insert(con, "probe_goals", {
            "probe_hash": [probe_hash] * (n_rows * d), "row_id": rows.tolist(),
            "goal": goal_names * n_rows,
            "source_raw": (lo + z0 * (hi - lo)).ravel().tolist(),
            "source": z0.ravel().tolist(),
            "delta": _nullable(delta.ravel()), "target": _nullable(target.ravel())})

        out = SyntheticStore(path=path, plan=plan, models=models,
                             interventions=interventions, probe_rows=n_rows, goals=goal_names)
        t0 = datetime(2026, 11, 27, 12, 0, 0)
        answer_texts: dict[str, str] = {}
        for gen in generations:
            m, inter = gen.model, gen.intervention
            gen_hash = hashes[f"generate:{m}/{inter}"]
            out.gen_hashes[(m, inter)] = gen_hash
            _insert(con, "generations", {
                "gen_hash": [gen_hash], "model": [m], "intervention": [inter],
                "probe_hash": [probe_hash], "settings": [json.dumps({
                    "model": plan.model(m).model_dump(mode="json"),
                    "intervention": plan.intervention(inter).model_dump(mode="json"),
                    "prompt": plan.prompt("direct").model_dump(mode="json")})]})
            n, ok, zh = len(gen.rows), gen.ok, gen.output
            for a in gen.answers:
                if a is not None:
                    answer_texts[text_hash(a)] = a
            prompts = [f"Please rewrite the following, but make it {intents[r]}."
                       f"\n\n{source_texts[src_index[r]]}" for r in gen.rows]
            _insert(con, "calls", {
                "gen_hash": [gen_hash] * n, "row_id": gen.rows.tolist(),
                "sample": gen.sample.tolist(), "prompt": prompts,
                "raw_answer": [None if a is None else "Here is the rewritten text:\n" + a
                               for a in gen.answers],
                "answer": gen.answers,
                "answer_hash": [None if a is None else text_hash(a) for a in gen.answers],
                "status": ["ok" if k else "error" for k in ok],
                "error": [None if k else "HTTP 500: upstream overloaded" for k in ok],
                "prompt_tokens": rng.integers(100, 400, n).tolist(),
                "completion_tokens": [int(rng.integers(50, 300)) if k else None for k in ok],
                "cost": [float(rng.uniform(1e-5, 1e-4)) if k else None for k in ok],
                "latency_s": rng.uniform(0.2, 3.0, n).tolist(),
                "attempts": [1] * n,
                "finished_at": [t0 + timedelta(seconds=int(i)) for i in range(n)]})
            keep = np.repeat(ok, d)
            _insert(con, "outputs", {
                "gen_hash": [gen_hash] * int(keep.sum()),
                "row_id": np.repeat(gen.rows, d)[keep].tolist(),
                "sample": np.repeat(gen.sample, d)[keep].tolist(),
                "goal": np.array(goal_names * n, dtype=object)[keep].tolist(),
                "raw": (lo + zh * (hi - lo)).ravel()[keep].tolist(),
                "value": zh.ravel()[keep].tolist()})
            out.calls += n
            out.failed += int((~ok).sum())
        _insert(con, "texts", {"text_hash": list(answer_texts),
                               "text": list(answer_texts.values())})
        _insert(con, "stages_done", {
            "stage_hash": list(hashes.values()), "stage": list(hashes),
            "finished_at": [t0] * len(hashes), "info": ["{}"] * len(hashes)})
        _insert(con, "current", {"stage": list(hashes), "stage_hash": list(hashes.values())})
        _insert(con, "runs", {
            "run_id": [stable_hash(["run", seed])], "plan_hash": [plan.spec_hash],
            "spec_path": [plan.spec_path], "plan": [plan.model_dump_json()],
            "versions": ['{"steerdsl": "0.1.0", "duckdb": "synthetic", "spacy": "3.8.0"}'],
            "started_at": [t0], "finished_at": [t0 + timedelta(hours=1)], "status": ["ok"]})
    finally:
        con.close()
    return out


def _nullable(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


def _insert(con, table: str, columns: dict[str, list]) -> None:
    insert_columns(con, table, columns)
