"""References: every name used refers to a definition of the right kind."""

from __future__ import annotations

from steerdsl import catalog
from steerdsl.lang import keywords, syntax
from steerdsl.lang.checks.context import Context
from steerdsl.lang.suggest import closest


def check_references(cx: Context) -> None:
    """Every name used refers to a definition of the right kind."""
    sym = cx.sym
    goals_known = sym.goals if not sym.is_failed("goals") else _Everything()
    for b in cx.spec.blocks:
        if isinstance(b, syntax.Probe):
            cx.unknown("corpus", b.corpus, sym.corpora, "corpus")
            for item in b.items:
                if isinstance(item, syntax.ProbeGoals):
                    _names(cx, "goal", item.names, goals_known)
                elif isinstance(item, syntax.ProbeExclude):
                    _names(cx, "probe", item.names, sym.probes)
        elif isinstance(b, syntax.Intervention):
            for p in b.prompt:
                cx.unknown("prompt", p.name, sym.prompt_names(), "prompt")
            for key in ("on", keywords.CALIBRATE):
                on = keywords.first(b.settings, key)
                if on is not None and isinstance(on.value, syntax.Name):
                    cx.unknown("probe", on.value, sym.probes, "probe")
            for r in b.rewards:
                if r.goal is not None and r.metric.value == "error":
                    cx.unknown("goal", r.goal, goals_known, "goal")
        elif isinstance(b, syntax.Prompt):
            if b.base is not None:
                cx.unknown("prompt", b.base, sym.prompt_names(), "prompt")
            for item in b.items:
                if isinstance(item, syntax.PhraseDef):
                    cx.unknown("goal", item.goal, goals_known, "goal")
        elif isinstance(b, syntax.Judge):
            model = keywords.first(b.settings, "model")
            if model is not None and isinstance(model.value, syntax.Name):
                cx.unknown("model", model.value, sym.models, "model")
        elif isinstance(b, syntax.Evaluate):
            tables = {"probe": (sym.probes, "probe"), "models": (sym.models, "model"),
                      "interventions": (sym.interventions, "intervention"),
                      "grounding": (sym.judges, "judge")}
            for item in b.items:
                if item.key == "grounding" and not sym.judges and not sym.is_failed("judge"):
                    cx.error("'grounding' names a judge, but the spec has no judge block "
                             "(judge NAME { model MODEL prompt groundedness })", item.names[0].span)
                    continue
                table, kind = tables[item.key]
                for n in item.names:
                    cx.unknown(kind, n, table, kind)
        elif isinstance(b, syntax.Goals):
            for g in b.goals:
                if isinstance(g.normalize, syntax.QuantileNorm):
                    cx.unknown("corpus", g.normalize.corpus, sym.corpora, "corpus")
                if isinstance(g.measure, syntax.JudgeMeasure):
                    cx.unknown("model", g.measure.model, sym.models, "model")
                if isinstance(g.measure, syntax.ExprMeasure):
                    for ref in _refs(g.measure.expr):
                        _check_measure_ref(cx, ref)


def _names(cx: Context, kind: str, names: list[syntax.Name], known) -> None:
    """A list of names of one kind: each known, none twice."""
    listed: set[str] = set()
    for n in names:
        cx.unknown(kind, n, known, kind)
        if n.value in listed:
            cx.error(f"{kind} '{n.value}' is listed twice", n.span)
        listed.add(n.value)


class _Everything:
    def __contains__(self, item) -> bool:
        return True

    def __iter__(self):
        return iter(())


def _refs(expr: syntax.Expr) -> list[syntax.MeasureRef]:
    out, stack = [], [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, syntax.MeasureRef):
            out.append(e)
        elif isinstance(e, syntax.NegExpr):
            stack.append(e.arg)
        elif isinstance(e, syntax.BinExpr):
            stack += [e.right, e.left]
    return out


def _check_measure_ref(cx: Context, ref: syntax.MeasureRef) -> None:
    name = ref.name.value
    if name in catalog.MEASURES:
        return
    hint = ""
    if name in cx.sym.goals:
        hint = " (expressions combine built-in measures, not goals)"
    cx.error(f"unknown measure '{name}'{hint}", ref.name.span, closest(name, catalog.MEASURES))
