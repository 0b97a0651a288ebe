"""The stage graph of a plan: ids, inputs, content hashes and counts.

corpus:C -> measure:C -> space -> probe:P -> generate:M/I -> score:M/I
                                    probe:T -> train:M/I -> generate:M/I  (a fine-tune)
                                    probe:T -> calibrate:M/I -> generate:M/I  (calibrated)

A probe that excludes others has their probe stages as inputs (it never draws their texts).

A stage's hash covers what decides its output and the hashes of its inputs, nothing else:
no absolute paths (files count by content and by their path relative to the spec), no pacing
settings (concurrency, rpm, timeouts), no key variable names. So moving a project,
reformatting a spec or throttling a model redoes nothing, and a changed number redoes exactly
the stages downstream of it. Names count where they decide or label results: goal names (the
space), and model and intervention names (they seed intent order and sampling, and they
label the generation in the store), so renaming an intervention generates it again.
"""

from __future__ import annotations

import os
from pathlib import Path

from steerdsl.plan import keys, model as pm
from steerdsl.plan.counts import csv_rows, source_word_counts
from steerdsl.plan.hashing import local_model_versions, stable_hash

TOKENS_PER_WORD = 1.3
# Bump when the calibration fit (steerdsl.calibration) changes what it computes: every
# calibrate stage, and the calibrated generations after it, are then redone.
CALIBRATION_REVISION = 1
# Pacing and price decide how fast and at what cost answers come, never the answers.
_PACING = {"name", "api_key_env", "concurrency", "rpm", "tpm", "timeout", "retries", "price"}
# Where requests go (servers of identical weights) changes no answer either.
_PACING |= {"deployments", "route"}
_TRANSPORT = {"batch"}  # provider batch jobs or one request at a time: the same answers
_SCORING = {"truncated"}  # decides how answers count, not what is requested: the score stage's


def build_stages(plan: pm.Plan, spec_dir: Path) -> tuple[list[pm.Stage], dict[str, int]]:
    stages: list[pm.Stage] = []
    totals: dict[str, int] = {}
    measure_ids = sorted({g.measure_id for g in plan.goals})

    def add(key: keys.StageKey, inputs: list[keys.StageKey], content: dict,
            counts: dict[str, int]) -> str:
        ids = [i.id for i in inputs]
        inputs_hashes = [next(s.hash for s in stages if s.id == i) for i in ids]
        h = stable_hash({"kind": key.kind, "inputs": sorted(inputs_hashes), **content})
        stages.append(pm.Stage(key=key, inputs=ids, hash=h, counts=counts))
        return h

    # corpus and measure
    words: dict[str, list[int] | None] = {}
    for c in sorted(plan.corpora, key=lambda c: c.name):
        words[c.name] = _corpus_words(c)
        counts: dict[str, int] = {"files": sum(len(s.files) for s in c.sources)}
        if words[c.name] is not None:
            counts["texts"] = len(words[c.name])
        corpus = keys.CorpusKey(corpus=c.name)
        add(corpus, [], {"corpus": _corpus_content(c, spec_dir)}, counts)
        n = counts.get("texts")
        add(keys.MeasureKey(corpus=c.name), [corpus], {"measures": measure_ids},
            {"measurements": n * len(measure_ids)} if n is not None else {})
        _total(totals, "texts", n)
        _total(totals, "measurements", n * len(measure_ids) if n is not None else None)

    # space: every goal's measure and normalization; quantiles depend on their corpus
    quantile_corpora = sorted({g.normalize.corpus for g in plan.goals
                               if isinstance(g.normalize, pm.QuantileNorm)})
    # A mapping by name: the order of goals matters to probes (they carry their own goal
    # list), not to the space.
    space = {g.name: {"measure_id": g.measure_id,
                      "normalize": g.normalize.model_dump(mode="json")} for g in plan.goals}
    add(keys.SpaceKey(), [keys.MeasureKey(corpus=c) for c in quantile_corpora], {"goals": space},
        {"goals": len(plan.goals)})

    # probes
    rows: dict[str, int | None] = {}
    mean_words: dict[str, float | None] = {}
    for p in _probe_order(plan.probes):
        if isinstance(p, pm.SampledProbePlan):
            rows[p.name] = p.sources * p.requests_per_source
            w = words.get(p.corpus)
            c = plan.corpus(p.corpus)
            if w is not None and c.min_words is not None:
                w = [x for x in w if c.min_words <= x <= c.max_words]
            mean_words[p.name] = sum(w) / len(w) if w else None
            add(keys.ProbeKey(probe=p.name), [keys.SpaceKey(), keys.MeasureKey(corpus=p.corpus),
                                              *(keys.ProbeKey(probe=q) for q in p.exclude)],
                {"probe": _probe_content(p)},
                {"rows": rows[p.name], "goals": len(p.goals)})
        else:
            found = csv_rows(Path(p.path)) if p.file is not None else None
            rows[p.name] = found[0] if found else None
            mean_words[p.name] = found[1] if found else None
            content = {"csv": p.file.sha256 if p.file else None, "goals": p.goals}
            if p.file is None:
                content["path"] = _relative(p.path, spec_dir)
            add(keys.ProbeKey(probe=p.name), [keys.SpaceKey()], content,
                {"rows": rows[p.name]} if rows[p.name] is not None else {})
        _total(totals, "probe_rows", rows[p.name])

    # generate and score, for the evaluated models x interventions
    e = plan.evaluate
    if e is not None:
        probe = plan.probe(e.probe)
        for model_name in e.models:
            m = plan.model(model_name)
            for iv_name in e.interventions:
                iv = plan.intervention(iv_name)
                prompt = plan.prompt(iv.prompt)
                gen = keys.GenerateKey(model=m.name, intervention=iv.name, probe=probe.name)
                gen_inputs: list[keys.StageKey] = [keys.ProbeKey(probe=probe.name)]
                if isinstance(iv, pm.FinetuneIntervention):
                    train = keys.TrainKey(model=m.name, intervention=iv.name)
                    add(train, [keys.ProbeKey(probe=iv.train.probe), keys.SpaceKey()],
                        _train_content(plan, m, iv, spec_dir),
                        {"steps": iv.train.steps,
                         "completions": iv.train.steps * iv.train.batch})
                    gen_inputs.append(train)
                if isinstance(iv, pm.PromptIntervention) and iv.calibrate is not None:
                    gen_inputs.append(_add_calibrate(add, totals, plan, m, iv, rows,
                                                     mean_words, spec_dir))
                feedback = iv.feedback if isinstance(iv, pm.PromptIntervention) else None
                if feedback is not None:
                    # the loop measures and normalizes every answer: the space decides it
                    gen_inputs.append(keys.SpaceKey())
                n = rows[probe.name]
                counts = {}
                if n is not None:
                    counts = {"requests": n, "samples": n * iv.samples}
                    if feedback is not None:  # at most; fewer when answers land early
                        counts["feedback_requests_max"] = n * iv.samples * feedback.rounds
                    est = _prompt_tokens(prompt, iv, probe, mean_words[probe.name])
                    if est is not None:
                        counts["prompt_tokens_est"] = round(n * est)
                add(gen, gen_inputs, _generate_content(plan, m, iv, prompt, probe, spec_dir),
                    counts)
                add(gen.score, [gen, keys.SpaceKey()],
                    _score_content(m, iv), {"answers": counts["samples"]} if counts else {})
                if e.grounding is not None:
                    judge = plan.judge(e.grounding)
                    add(keys.JudgeKey(model=m.name, intervention=iv.name, probe=probe.name,
                                      judge=judge.name),
                        [gen.score if judge.candidates == "selected" else gen],
                        judge_content(plan, judge, spec_dir), _judge_counts(judge, iv, counts))
                for key in ("requests", "samples", "prompt_tokens_est"):
                    _total(totals, key, counts.get(key))
    return stages, totals


def _total(totals: dict[str, int], key: str, value: int | None) -> None:
    if value is not None:
        totals[key] = totals.get(key, 0) + value


def _relative(path: str, spec_dir: Path) -> str:
    return Path(os.path.relpath(path, spec_dir)).as_posix()


def _corpus_content(c: pm.CorpusPlan, spec_dir: Path) -> dict:
    d = c.model_dump(mode="json", exclude={"name", "sources"})
    d["sources"] = [
        {"pattern": _relative(s.pattern, spec_dir), "format": s.format,
         "text_field": s.text_field, "label_field": s.label_field,
         "files": [{"path": _relative(f.path, spec_dir), "sha256": f.sha256} for f in s.files]}
        for s in c.sources
    ]
    return d


def _corpus_words(c: pm.CorpusPlan) -> list[int] | None:
    out: list[int] = []
    for s in c.sources:
        w = source_word_counts(s)
        if w is None:
            return None
        out += w
    return out


def _probe_order(probes: list[pm.ProbePlan]) -> list[pm.ProbePlan]:
    """By name, except that a probe comes after the probes it excludes (their hashes are its
    inputs, and the run draws them first). The checker rejects cycles."""
    by_name = {p.name: p for p in probes}
    out: list[pm.ProbePlan] = []
    placed: set[str] = set()

    def place(p: pm.ProbePlan) -> None:
        if p.name in placed:
            return
        placed.add(p.name)
        for q in getattr(p, "exclude", []):
            if q in by_name:
                place(by_name[q])
        out.append(p)

    for p in sorted(probes, key=lambda p: p.name):
        place(p)
    return out


def _prompt_content(prompt: pm.PromptPlan, probe) -> dict:
    prompt_d = prompt.model_dump(mode="json", exclude={"name", "phrases"})
    # Only the phrases this probe can ask for shape the prompts.
    prompt_d["phrases"] = {g: p.model_dump(mode="json") for g, p in prompt.phrases.items()
                           if g in probe.goals}
    return prompt_d


def _generate_content(plan: pm.Plan, m: pm.ModelPlan, iv: pm.InterventionPlan,
                      prompt: pm.PromptPlan, probe, spec_dir: Path) -> dict:
    # Not `kind` for prompt interventions: they were hashed before kinds existed, and their
    # stores must stay done. A fine-tune puts its kind in; its training is its train stage's
    # (an input).
    content = {
        "seed": plan.experiment.seed,
        "names": [m.name, iv.name],
        "model": model_identity(m, spec_dir),
        "model_versions": local_model_versions(m),
        "intervention": iv.model_dump(mode="json",
                                      exclude={"name", "prompt", "kind", "train"} | _SCORING),
        "prompt": _prompt_content(prompt, probe),
    }
    if isinstance(iv, pm.FinetuneIntervention):
        content["kind"] = iv.kind
    return content


def _add_calibrate(add, totals: dict[str, int], plan: pm.Plan, m: pm.ModelPlan,
                   iv: pm.PromptIntervention, rows: dict[str, int | None],
                   mean_words: dict[str, float | None], spec_dir: Path) -> keys.CalibrateKey:
    """The calibrate stage of a calibrated intervention on one model: the uncalibrated prompt's
    answers to the calibration probe decide its fit, as the generate stage's content decides
    its answers; the fit's own method counts too."""
    probe = plan.probe(iv.calibrate)
    key = keys.CalibrateKey(model=m.name, intervention=iv.name, probe=probe.name)
    content = _generate_content(plan, m, iv, plan.prompt(iv.prompt), probe, spec_dir)
    content["calibration"] = CALIBRATION_REVISION
    n = rows[probe.name]
    counts = {} if n is None else {"requests": n, "samples": n * iv.samples}
    est = _prompt_tokens(plan.prompt(iv.prompt), iv, probe, mean_words[probe.name])
    if counts and est is not None:
        counts["prompt_tokens_est"] = round(n * est)
    add(key, [keys.ProbeKey(probe=probe.name), keys.SpaceKey()], content, counts)
    for name, value in counts.items():
        _total(totals, name, value)
    return key


def _train_content(plan: pm.Plan, m: pm.ModelPlan, iv: pm.FinetuneIntervention,
                   spec_dir: Path) -> dict:
    """What decides the adapter: the base model, the training and the prompts it is trained
    on (the training probe's rows come in through its stage's hash, an input)."""
    probe = plan.probe(iv.train.probe)
    return {
        "seed": plan.experiment.seed,
        "model": model_identity(m, spec_dir),
        "model_versions": local_model_versions(m),
        "train": iv.train.model_dump(mode="json"),
        "prompt": _prompt_content(plan.prompt(iv.prompt), probe),
        "negative": iv.negative,
        "no_explain": iv.no_explain,
    }


def model_identity(m: pm.ModelPlan, spec_dir: Path | None = None) -> dict:
    """What of a model decides its answers: not its name, pacing, price or scoring. No adapter
    adds nothing, so hashes stay as they were before adapters existed. An hf checkpoint
    folder counts by its path relative to the spec (its content is in local_model_versions),
    so moving a project redoes nothing."""
    exclude = _PACING | _TRANSPORT | _SCORING | ({"adapter"} if m.adapter is None else set())
    identity = m.model_dump(mode="json", exclude=exclude)
    if m.provider == "hf" and spec_dir is not None and Path(m.model).is_absolute():
        identity["model"] = _relative(m.model, spec_dir)
    return identity


def _probe_content(p: pm.SampledProbePlan) -> dict:
    # No exclusion adds nothing (hashes as before `exclude` existed); excluded probes count
    # through their stages' hashes, which are this stage's inputs.
    return p.model_dump(mode="json", exclude={"name", "corpus", "exclude"})


def judge_content(plan: pm.Plan, judge: pm.JudgePlan, spec_dir: Path | None = None) -> dict:
    """What decides the verdicts: the judge's settings and the model it asks (not its pacing
    or price; a local model's weights), and the seed (the A/B order is drawn from it)."""
    model = plan.model(judge.model)
    return {
        "seed": plan.experiment.seed,
        "judge": judge.model_dump(mode="json", exclude={"name", "model"}),
        "model": model_identity(model, spec_dir),
        "model_versions": local_model_versions(model),
    }


def _judge_counts(judge: pm.JudgePlan, iv: pm.InterventionPlan,
                  counts: dict[str, int]) -> dict[str, int]:
    if not counts:
        return {}
    answers = counts["requests"] if judge.candidates == "selected" else counts["samples"]
    return {"verdicts": answers * (2 if judge.order == "both" else 1)}


def _score_content(m: pm.ModelPlan, iv: pm.InterventionPlan) -> dict:
    # The default adds nothing, so stores scored before the setting existed stay done.
    policy = pm.truncated_policy(m, iv)
    return {} if policy == "score" else {"truncated": policy}


def _prompt_tokens(prompt: pm.PromptPlan, iv: pm.InterventionPlan, probe,
                   words: float | None) -> float | None:
    """Estimated prompt tokens of one request: the source text plus the instruction."""
    if words is None:
        return None
    instruction = prompt.template.replace("{text}", "").replace("{suffix}", "")
    instruction_words = len(instruction.split())
    if iv.negative:
        instruction_words += len(prompt.negative_text.split())
    if iv.no_explain:
        instruction_words += len(prompt.no_explain_text.split())
    if prompt.cot_text:
        instruction_words += len(prompt.cot_text.split())
    if prompt.vague_requests:
        instruction_words += sum(len(v.split()) for v in prompt.vague_requests) / len(
            prompt.vague_requests)
    else:
        active = (probe.active_min + probe.active_max) / 2 if isinstance(
            probe, pm.SampledProbePlan) else 2
        instruction_words += 4 * active  # "much harder to read," per requested move
    return (words + instruction_words) * TOKENS_PER_WORD
