"""Fine-tunes: the training settings belong to a `finetune` block, which names its method, its
training probe and its rewards; the batch fits the generations; the training probe is a
sampled one that shares no source text with the evaluated probe; every evaluated model can
be trained."""

from __future__ import annotations

from steerdsl.lang import keywords, rules, syntax
from steerdsl.lang.checks.context import Context
from steerdsl.lang.diagnostics import Span
from steerdsl.lang.suggest import closest

REWARD_METRICS = ("steering_error", "miscalibration", "orthogonality", "error")
# The reward options that apply only to some metrics.
OPTION_METRICS = {"squared": ("steering_error",), "good_enough": ("steering_error", "error"),
                  "decile": ("steering_error", "error")}


def check_finetunes(cx: Context) -> None:
    for iv in cx.sym.interventions.values():
        method = keywords.first(iv.settings, "finetune")
        if method is None:
            _not_a_finetune(cx, iv)
            continue
        if isinstance(method.value, syntax.Name) and \
                method.value.value not in keywords.FINETUNE_METHODS:
            cx.error(f"unknown fine-tuning method '{method.value.value}' (available: "
                     f"{', '.join(keywords.FINETUNE_METHODS)})", method.value.span,
                     closest(method.value.value, keywords.FINETUNE_METHODS))
        if keywords.first(iv.settings, "on") is None:
            cx.error(f"intervention '{iv.name.value}' fine-tunes but names no training probe: "
                     "add  on PROBE  (a sampled probe)", method.key_span)
        if not iv.rewards:
            cx.error(f"intervention '{iv.name.value}' fine-tunes but has no reward: add  "
                     "reward steering_error  (or miscalibration, orthogonality, error GOAL)",
                     method.key_span)
        _check_rewards(cx, iv)
        _check_batch(cx, iv)
        _check_training_probe(cx, iv)
    _check_trainable_models(cx)


def _keyword_span(span: Span, keyword: str) -> Span:
    return Span(span.file, span.line, span.col, span.line, span.col + len(keyword))


def _not_a_finetune(cx: Context, iv: syntax.Intervention) -> None:
    """Training settings in a prompt intervention: each one is reported at its keyword."""
    found = [(s.key, s.key_span) for s in iv.settings
             if s.key in keywords.TRAINING or s.key in keywords.FINETUNE_REFERENCES]
    found += [("reward", _keyword_span(r.span, "reward")) for r in iv.rewards]
    found += [("lora", _keyword_span(d.span, "lora")) for d in iv.lora]
    for key, span in sorted(found, key=lambda f: (f[1].line, f[1].col)):
        cx.error(f"'{key}' is a fine-tuning setting but intervention '{iv.name.value}' does "
                 "not fine-tune: add  finetune grpo  (and  on PROBE)", span)


def _check_rewards(cx: Context, iv: syntax.Intervention) -> None:
    names: dict[str, syntax.RewardDef] = {}
    for r in iv.rewards:
        metric = r.metric.value
        if metric not in REWARD_METRICS:
            cx.error(f"unknown reward '{metric}' (available: {', '.join(REWARD_METRICS)})",
                     r.metric.span, closest(metric, REWARD_METRICS))
            continue
        if metric == "error" and r.goal is None:
            cx.error("reward error is one goal's error: reward error GOAL", r.metric.span)
            continue
        if metric != "error" and r.goal is not None:
            cx.error(f"reward {metric} is over every goal and takes no goal (one goal's error "
                     f"is: reward error {r.goal.value})", r.goal.span)
            continue
        for option in r.options:
            allowed = OPTION_METRICS.get(option.key)
            if allowed is not None and metric not in allowed:
                cx.error(f"'{option.key}' applies only to reward "
                         f"{' and '.join(allowed)}, not to {metric}", option.key_span)
        name = f"error_{r.goal.value}" if r.goal is not None else metric
        if name in names:
            cx.error(f"reward '{name}' is given twice in intervention '{iv.name.value}' (first "
                     f"at line {names[name].span.line}); each reward once",
                     _keyword_span(r.span, "reward"))
        else:
            names[name] = r


def _check_batch(cx: Context, iv: syntax.Intervention) -> None:
    """`batch` counts completions per step: a whole number of prompts, each answered
    `generations` times."""
    written = {k: keywords.first(iv.settings, k) for k in ("batch", "generations")}
    values: dict[str, int] = {}
    for key, s in written.items():
        if s is None:
            values[key] = keywords.TRAINING[key].default
        elif isinstance(s.value, syntax.Num) and \
                not rules.check_setting(s, keywords.TRAINING[key].rule):
            values[key] = int(s.value.value)
    if len(values) < 2:
        return  # a wrong value, already reported
    batch, generations = values["batch"], values["generations"]
    if batch % generations == 0:
        return
    blame = written["batch"] or written["generations"]
    assert blame is not None  # the defaults fit
    cx.error(f"'batch' ({batch}) must be a multiple of 'generations' ({generations}): a step "
             f"answers batch / generations prompts, each {generations} times", blame.value.span)


def _check_training_probe(cx: Context, iv: syntax.Intervention) -> None:
    on = keywords.first(iv.settings, "on")
    if on is None or not isinstance(on.value, syntax.Name):
        return
    name = on.value.value
    probe = cx.sym.probes.get(name)
    if probe is None:
        return  # reported as unknown
    if isinstance(probe, syntax.CsvProbe):
        cx.error(f"probe '{name}' is read from a CSV file; fine-tuning trains on a sampled "
                 f"probe (probe {name} from CORPUS {{ ... }})", on.value.span)
        return
    check_apart_from_evaluated(cx, iv, on.value, probe, "training", ("trains", "train"))


def check_apart_from_evaluated(cx: Context, iv: syntax.Intervention, name: syntax.Name,
                               probe: syntax.Probe | syntax.CsvProbe, role: str,
                               verbs: tuple[str, str]) -> None:
    """A probe an intervention learns from (a fine-tune's training probe, a calibration
    probe: `role`) is not the evaluated probe, and excludes it when both draw from one
    corpus. `verbs`: what the intervention does on it ("trains", "train")."""
    evaluated = _evaluated_probe(cx)
    if evaluated is None:
        return
    if evaluated.name.value == name.value:
        cx.error(f"intervention '{iv.name.value}' {verbs[0]} on probe '{name.value}', which is "
                 f"the evaluated probe: {verbs[1]} on another probe that excludes it", name.span)
        return
    if not isinstance(probe, syntax.Probe):
        return  # a CSV probe: the run checks its texts
    excluded = {n.value for i in probe.items if isinstance(i, syntax.ProbeExclude)
                for n in i.names}
    if isinstance(evaluated, syntax.Probe) and evaluated.corpus.value == probe.corpus.value \
            and evaluated.name.value not in excluded:
        cx.error(f"{role} probe '{name.value}' draws from corpus '{probe.corpus.value}' like "
                 f"the evaluated probe '{evaluated.name.value}': add `exclude "
                 f"{evaluated.name.value}` to probe {name.value} so no source text is in both",
                 name.span)


def _evaluated_probe(cx: Context) -> syntax.Probe | syntax.CsvProbe | None:
    e = cx.sym.evaluate
    names = next((i.names for i in e.items if i.key == "probe"), []) if e is not None else []
    return cx.sym.probes.get(names[0].value) if names else None


def _check_trainable_models(cx: Context) -> None:
    """Each evaluated fine-tune trains every evaluated model: none may be a hosted one."""
    e = cx.sym.evaluate
    if e is None:
        return
    lists = {i.key: i.names for i in reversed(e.items)}
    finetunes = [cx.sym.interventions[n.value] for n in lists.get("interventions", [])
                 if n.value in cx.sym.interventions and
                 keywords.first(cx.sym.interventions[n.value].settings, "finetune")]
    if not finetunes:
        return
    for n in lists.get("models", []):
        m = cx.sym.models.get(n.value)
        provider = next((s for s in m.settings if s.key in keywords.PROVIDERS), None) \
            if m is not None else None
        if provider is None or provider.key != "litellm":
            continue
        for iv in finetunes:
            cx.error(f"model {n.value} is a hosted litellm model and cannot be fine-tuned by "
                     f"intervention {iv.name.value}; use `hf \"...\"` or `local \"smollm2\"`",
                     n.span)
