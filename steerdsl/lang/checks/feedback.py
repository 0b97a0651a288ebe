"""Closed-loop feedback: the number of rounds, the template's placeholders, and what it
cannot be combined with (yet): best-of-N, fine-tunes, batch jobs, calibrated requests."""

from __future__ import annotations

from steerdsl import catalog
from steerdsl.lang import keywords, rules, syntax
from steerdsl.lang.checks.context import Context
from steerdsl.lang.checks.prompts import PLACEHOLDER, unknown_placeholders

MAX_ROUNDS = 10


def check_feedback(cx: Context) -> None:
    for iv in cx.sym.interventions.values():
        if not iv.feedback:
            continue
        first = iv.feedback[0]
        where = f"intervention {iv.name.value}"
        for extra in iv.feedback[1:]:
            cx.error(f"'feedback' is set twice in {where} (first at line {first.span.line})",
                     extra.key_span)
        cx.diags.extend(rules.check_number(first.rounds,
                                           rules.Number(1, MAX_ROUNDS, integer=True),
                                           "'feedback' rounds"))
        if first.template is not None:
            found = PLACEHOLDER.findall(first.template.value)
            unknown_placeholders(cx, found, catalog.FEEDBACK_PLACEHOLDERS, first.template)
            if "feedback" not in found:
                cx.error("the feedback template must contain {feedback} (where the sentences "
                         "about the missed goals go)", first.template.span)
        _check_combinations(cx, iv, first)
    _check_batch_models(cx)


def _check_combinations(cx: Context, iv: syntax.Intervention, f: syntax.FeedbackDef) -> None:
    name = iv.name.value
    if keywords.first(iv.settings, "finetune") is not None:
        cx.error(f"intervention '{name}' fine-tunes: feedback revises the answers of prompt "
                 "interventions only (not supported with finetune yet)", f.key_span)
    sample = keywords.first(iv.settings, "sample")
    if sample is not None and isinstance(sample.value, syntax.Num) and sample.value.value > 1:
        cx.error(f"intervention '{name}' has feedback and sample {sample.value.text}: feedback "
                 "revises one answer per request, best-of-N is not supported with it; drop "
                 "one of them", sample.key_span)
    calibrate = keywords.first(iv.settings, "calibrate")
    if calibrate is not None:
        cx.error(f"intervention '{name}' has feedback and calibrate: the two together are not "
                 "supported yet; use them in two interventions", calibrate.key_span)


def _check_batch_models(cx: Context) -> None:
    """Each round needs the answers of the one before: no provider batch jobs."""
    e = cx.sym.evaluate
    if e is None:
        return
    listed = {i.key: i.names for i in e.items}
    looped = [n for n in listed.get("interventions", [])
              if n.value in cx.sym.interventions and cx.sym.interventions[n.value].feedback]
    if not looped:
        return
    for m in listed.get("models", []):
        model = cx.sym.models.get(m.value)
        batch = keywords.first(model.settings, "batch") if model is not None else None
        if batch is not None and isinstance(batch.value, syntax.Name) and \
                batch.value.value == "on":
            cx.error(f"model '{m.value}' has batch on, but intervention "
                     f"'{looped[0].value}' gives feedback, which needs each answer back before "
                     "the next request: set batch off for this model, or evaluate the "
                     "intervention with another model", m.span)
