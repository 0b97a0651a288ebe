"""Plan builder: a checked syntax tree -> steerdsl.plan.model.Plan.

Every default is filled in (from the keyword tables of steerdsl.lang.keywords, else the plan
model's own), so the plan shows every value a run uses. Call it only on a tree the checker
accepted (steerdsl.api.load does both).
"""

from __future__ import annotations

from pathlib import Path

from steerdsl import catalog
from steerdsl.lang import files, keywords, syntax
from steerdsl.lang.keywords import plan_fields
from steerdsl.lang.symbols import Symbols
from steerdsl.plan import model as pm
from steerdsl.plan.hashing import (
    builtin_measure_id, derive_seed, file_ref, local_model_versions, stable_hash,
)
from steerdsl.plan.prompts import (
    COT_ANSWER_AFTER, COT_TEXT, DEFAULT_MODIFIERS, FEEDBACK_MOVED, FEEDBACK_TEMPLATE,
    FEEDBACK_UNASKED, FEEDBACK_UNMOVED, NEGATIVE_TEXT, NO_CHANGE, NO_EXPLAIN_TEXT,
    VAGUE_REQUESTS, base_template,
)
from steerdsl.plan.graph import build_stages


def build_plan(tree: syntax.SpecTree, spec_path: Path) -> pm.Plan:
    spec_path = spec_path.resolve()
    spec_dir = spec_path.parent
    sym = Symbols.of(tree)
    experiment = _experiment(sym, spec_dir)
    models = [_model(m, spec_dir) for m in sym.models.values()]
    by_name = {m.name: m for m in models}
    goals = [_goal(g, spec_dir, by_name) for g in sym.goals.values()]
    corpora = [_corpus(c, spec_dir) for c in sym.corpora.values()]
    probes = [_probe(p, sym, experiment.seed, spec_dir) for p in sym.probes.values()]
    interventions = [_intervention(i) for i in sym.interventions.values()]
    used = {i.prompt for i in interventions}
    prompt_names = [p for p in catalog.BUILTIN_PROMPTS if p in used] + list(sym.prompts)
    prompts = [_prompt(name, sym) for name in prompt_names]
    judges = [_judge(j) for j in sym.judges.values()]
    evaluate = _evaluate(sym)
    versions: dict[str, str] = {}
    for g in goals:
        versions.update(g.versions)
    for m in models:
        versions.update(local_model_versions(m))
    versions.pop("steerdsl-measure", None)  # per measure, not one library
    plan = pm.Plan(
        spec_path=str(spec_path), spec_hash="", experiment=experiment, goals=goals,
        corpora=corpora, probes=probes, models=models, prompts=prompts,
        interventions=interventions, judges=judges, evaluate=evaluate, stages=[],
        versions=dict(sorted(versions.items())),
    )
    stages, totals = build_stages(plan, spec_dir)
    spec_hash = stable_hash({
        # the executor changes no value: a spec run on a cluster owns the same store
        "experiment": experiment.model_dump(mode="json", exclude={"store", "executor"}),
        "stages": {s.id: s.hash for s in stages},
        # without grounding, as before it existed: a store's owner is its spec's hash
        "evaluate": evaluate.model_dump(mode="json", exclude_none=True) if evaluate else None,
    })
    return plan.model_copy(update={"stages": stages, "totals": totals, "spec_hash": spec_hash})


# --- blocks ----------------------------------------------------------------------------------


def _experiment(sym: Symbols, spec_dir: Path) -> pm.ExperimentPlan:
    e = sym.experiment
    assert e is not None, "checked specs have an experiment block"
    fields = plan_fields(e.settings, keywords.EXPERIMENT)
    store = fields.pop("store", f"runs/{e.name.value}.duckdb")
    return pm.ExperimentPlan(name=e.name.value, store=str(files.resolve(spec_dir, store)),
                             **fields)


def _model(m: syntax.Model, spec_dir: Path) -> pm.ModelPlan:
    env = next((k.var.value for k in m.api_keys if isinstance(k, syntax.ApiKeyEnv)), None)
    fields = plan_fields(m.settings, keywords.MODEL)
    if fields.get("provider") == "hf":
        folder = files.hf_folder(spec_dir, fields["model"])
        if folder is not None:  # stored absolute, like every file of the plan
            fields["model"] = str(folder)
    deployments = [_deployment(d) for d in m.deployments]
    return pm.ModelPlan(name=m.name.value, api_key_env=env, deployments=deployments, **fields)


def _deployment(d: syntax.Deployment) -> pm.DeploymentPlan:
    env = next((k.var.value for k in d.api_keys if isinstance(k, syntax.ApiKeyEnv)), None)
    return pm.DeploymentPlan(api_key_env=env, **plan_fields(d.settings, keywords.DEPLOYMENT))


def judge_identity(m: pm.ModelPlan) -> dict:
    """What of a model decides its answers (not its name, pacing or key)."""
    return m.model_dump(mode="json", include={"provider", "model", "api_base", "sampling"})


def builtin_goal(name: str, measure: str, normalize: pm.Normalization) -> pm.GoalPlan:
    """A goal that is one built-in measure (also `steerdsl measure --goals`'s goals): its
    cache identity is the measure's name and the versions of the libraries it uses."""
    measure_id, versions = builtin_measure_id(measure)
    return pm.GoalPlan(name=name, measure=pm.BuiltinMeasure(name=measure), normalize=normalize,
                       measure_id=measure_id, versions=versions)


def _goal(g: syntax.Goal, spec_dir: Path, models: dict[str, pm.ModelPlan]) -> pm.GoalPlan:
    goal = _goal_measure(g, spec_dir, models)
    if g.question is None:
        return goal
    return goal.model_copy(update={"question": g.question.value})


def _goal_measure(g: syntax.Goal, spec_dir: Path,
                  models: dict[str, pm.ModelPlan]) -> pm.GoalPlan:
    m = g.measure
    if isinstance(m, syntax.ExprMeasure) and isinstance(m.expr, syntax.MeasureRef):
        return builtin_goal(g.name.value, m.expr.name.value, _norm(g))
    measure: pm.PythonMeasure | pm.ExprMeasure | pm.JudgeMeasure
    identity: dict
    if isinstance(m, syntax.ExprMeasure):
        node = _expr(m.expr)
        measure = pm.ExprMeasure(expr=node, text=_expr_text(node))
        versions = {}
        for name in sorted(_measures_in(node)):
            versions.update(catalog.measure_versions(name))
        # each measure's own revision, not a merged one
        versions.pop("steerdsl-measure", None)
        versions.update({f"steerdsl-measure:{n}": str(catalog.MEASURES[n].revision)
                         for n in sorted(_measures_in(node))})
        identity = {"measure": measure.model_dump(mode="json")}
    elif isinstance(m, syntax.PythonMeasure):
        module, _ = files.split_python_ref(m.ref.value)
        path = files.find_module_file(module, spec_dir)
        sha = file_ref(path).sha256 if path is not None else None
        timeout = {"timeout": m.timeout.value} if m.timeout is not None else {}
        measure = pm.PythonMeasure(ref=m.ref.value, source_sha256=sha, **timeout)
        versions = {}
        identity = {"measure": measure.model_dump(mode="json", exclude={"timeout"})}
    else:
        judge = models[m.model.value]
        measure = pm.JudgeMeasure(model=judge.name, rubric=m.rubric.value,
                                  scale_lo=m.scale.lo.value, scale_hi=m.scale.hi.value)
        versions = {**local_model_versions(judge),
                    "steerdsl-judge": str(catalog.JUDGE_REVISION)}
        identity = {"measure": measure.model_dump(mode="json", exclude={"model"}),
                    "model": judge_identity(judge)}
    measure_id = stable_hash({**identity, "versions": versions})
    return pm.GoalPlan(name=g.name.value, measure=measure, normalize=_norm(g),
                       measure_id=measure_id, versions=versions)


def _norm(g: syntax.Goal) -> pm.FixedNorm | pm.QuantileNorm:
    n = g.normalize
    if n is None:  # a judge's scale is its natural range
        assert isinstance(g.measure, syntax.JudgeMeasure)
        return pm.FixedNorm(lo=g.measure.scale.lo.value, hi=g.measure.scale.hi.value)
    if isinstance(n, syntax.FixedNorm):
        return pm.FixedNorm(lo=n.range.lo.value, hi=n.range.hi.value)
    return pm.QuantileNorm(lo_pct=n.range.lo.value, hi_pct=n.range.hi.value,
                           corpus=n.corpus.value)


def _expr(e: syntax.Expr):
    if isinstance(e, syntax.NumberExpr):
        return pm.Num(value=e.value)
    if isinstance(e, syntax.MeasureRef):
        return pm.Ref(measure=e.name.value)
    if isinstance(e, syntax.NegExpr):
        return pm.Neg(arg=_expr(e.arg))
    return pm.BinOp(op=e.op, left=_expr(e.left), right=_expr(e.right))


def _expr_text(e) -> str:
    if isinstance(e, pm.Num):
        return repr(e.value)
    if isinstance(e, pm.Ref):
        return e.measure
    if isinstance(e, pm.Neg):
        return f"(-{_expr_text(e.arg)})"
    return f"({_expr_text(e.left)} {e.op} {_expr_text(e.right)})"


def _measures_in(e) -> set[str]:
    if isinstance(e, pm.Ref):
        return {e.measure}
    if isinstance(e, pm.Neg):
        return _measures_in(e.arg)
    if isinstance(e, pm.BinOp):
        return _measures_in(e.left) | _measures_in(e.right)
    return set()


def _corpus(c: syntax.Corpus, spec_dir: Path) -> pm.CorpusPlan:
    sources = [
        pm.CorpusSource(pattern=str(files.resolve(spec_dir, r.pattern.value)),
                        format=files.format_of(r.pattern.value),
                        files=[file_ref(p) for p in files.expand(spec_dir, r.pattern.value)],
                        **plan_fields(r.fields, keywords.READ))
        for r in c.reads
    ]
    return pm.CorpusPlan(name=c.name.value, sources=sources,
                         **plan_fields(c.settings, keywords.CORPUS))


def _probe(p: syntax.Probe | syntax.CsvProbe, sym: Symbols, seed: int, spec_dir: Path):
    goals = sym.probe_goal_names(p)
    if isinstance(p, syntax.CsvProbe):
        path = files.resolve(spec_dir, p.path.value)
        return pm.CsvProbePlan(name=p.name.value, path=str(path),
                               file=file_ref(path) if files.is_file(path) else None,
                               goals=goals)
    items = {type(i): i for i in reversed(p.items)}  # first one wins
    sources, requests, active = items[syntax.Sources], items[syntax.Requests], items[syntax.Active]
    delta = items.get(syntax.Delta)
    fields = pm.SampledProbePlan.model_fields
    if isinstance(active.value, syntax.Range):
        k_min, k_max = int(active.value.lo.value), int(active.value.hi.value)
    else:
        k_min = k_max = int(active.value.value)
    return pm.SampledProbePlan(
        name=p.name.value,
        corpus=p.corpus.value,
        goals=goals,
        sources=int(sources.count.value),
        weighting=sources.weighting or "uniform",
        requests_per_source=int(requests.count.value),
        active_min=k_min,
        active_max=k_max,
        delta_min=delta.range.lo.value if delta else fields["delta_min"].default,
        delta_max=delta.range.hi.value if delta else fields["delta_max"].default,
        deadzone=delta.deadzone.value if delta and delta.deadzone else
        fields["deadzone"].default,
        seed=derive_seed(seed, "probe", p.name.value),
        exclude=[n.value for i in p.items if isinstance(i, syntax.ProbeExclude)
                 for n in i.names],
    )


def _prompt(name: str, sym: Symbols) -> pm.PromptPlan:
    base = sym.prompt_base(name)
    template, modifiers = base_template(base), list(DEFAULT_MODIFIERS)
    for p in reversed(sym.prompt_chain(name)):  # the built-in base first, `name` last
        for item in p.items:
            if isinstance(item, syntax.Template):
                template = item.text.value
            elif isinstance(item, syntax.Modifiers):
                modifiers = [pm.Modifier(word=m.word.value, when=m.when,
                                         threshold=m.threshold.value) for m in item.items]
    # In goal order: the runtime lists a row's intents in this order before shuffling them.
    have = sym.phrases(name)
    phrases = {g: pm.Phrase(up=have[g][0], down=have[g][1]) for g in sym.goals if g in have}
    cot = base == "cot"
    return pm.PromptPlan(
        name=name, base=base, template=template, phrases=phrases, modifiers=modifiers,
        no_change=NO_CHANGE,
        vague_requests=list(VAGUE_REQUESTS) if base == "underspecified" else [],
        negative_text=NEGATIVE_TEXT, no_explain_text=NO_EXPLAIN_TEXT,
        cot_text=COT_TEXT if cot else None, answer_after=COT_ANSWER_AFTER if cot else None,
    )


def _intervention(i: syntax.Intervention) -> pm.InterventionPlan:
    generating = {"name": i.name.value,
                  "prompt": i.prompt[0].name.value if i.prompt else "direct",
                  **plan_fields(i.settings, keywords.INTERVENTION)}
    if keywords.first(i.settings, "finetune") is None:
        calibrate = keywords.first(i.settings, keywords.CALIBRATE)
        if calibrate is not None and isinstance(calibrate.value, syntax.Name):
            generating["calibrate"] = calibrate.value.value
        return pm.PromptIntervention(**generating, feedback=_feedback(i))
    on = keywords.first(i.settings, "on")
    assert on is not None and isinstance(on.value, syntax.Name), "checked fine-tunes have one"
    fields = plan_fields(i.settings, keywords.TRAINING)
    lora = pm.LoraPlan(**plan_fields([s for d in i.lora for s in d.settings], keywords.LORA))
    train = pm.GrpoPlan(probe=on.value.value, rewards=[_reward(r) for r in i.rewards],
                        lora=lora, **fields.pop("train", {}))
    return pm.FinetuneIntervention(**generating, train=train, **fields)


def _feedback(i: syntax.Intervention) -> pm.FeedbackPlan | None:
    if not i.feedback:
        return None
    f = i.feedback[0]
    return pm.FeedbackPlan(rounds=int(f.rounds.value),
                           template=f.template.value if f.template else FEEDBACK_TEMPLATE,
                           moved=FEEDBACK_MOVED, unmoved=FEEDBACK_UNMOVED,
                           unasked=FEEDBACK_UNASKED)


def _reward(r: syntax.RewardDef) -> pm.RewardPlan:
    return pm.RewardPlan(metric=r.metric.value, goal=r.goal.value if r.goal else None,
                         **plan_fields(r.options, keywords.REWARD))


def _judge(j: syntax.Judge) -> pm.JudgePlan:
    model = keywords.first(j.settings, "model")
    assert model is not None and isinstance(model.value, syntax.Name), "checked judges have one"
    prompt = keywords.first(j.settings, "prompt")
    # Not written: the built-in prompt. Its text goes into the plan, so it is in the hash.
    custom = prompt is not None and isinstance(prompt.value, syntax.Str)
    return pm.JudgePlan(
        name=j.name.value, model=model.value.value,
        prompt="custom" if custom else "groundedness",
        template=prompt.value.value if custom else catalog.GROUNDEDNESS_TEMPLATE,
        **plan_fields(j.settings, keywords.JUDGE))


def _evaluate(sym: Symbols) -> pm.EvaluatePlan | None:
    if sym.evaluate is None:
        return None
    items = {i.key: [n.value for n in i.names] for i in reversed(sym.evaluate.items)}
    return pm.EvaluatePlan(probe=items["probe"][0], models=items["models"],
                           interventions=items["interventions"],
                           grounding=items.get("grounding", [None])[0])
