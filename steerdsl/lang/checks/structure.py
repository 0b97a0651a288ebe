"""The spec's shape: which blocks it has, and that no name is defined twice."""

from __future__ import annotations

from steerdsl import catalog
from steerdsl.lang import syntax
from steerdsl.lang.checks.context import Context
from steerdsl.lang.diagnostics import Span


def check_blocks(cx: Context) -> None:
    """One experiment, one goals block, at most one evaluate; a probe needs goals."""
    for kind, label in ((syntax.Experiment, "experiment"), (syntax.Goals, "goals"),
                        (syntax.Evaluate, "evaluate")):
        found = cx.spec.of(kind)
        for extra in found[1:]:
            cx.error(f"a spec has one {label} block (first at line {found[0].span.line}); "
                     "merge them", Span(extra.span.file, extra.span.line, extra.span.col,
                                        extra.span.line, extra.span.col + len(label)))
    if not cx.spec.of(syntax.Experiment) and not cx.sym.is_failed("experiment"):
        cx.error("the spec has no experiment block (experiment NAME { seed 42 store "
                 "\"runs/NAME.duckdb\" })", _whole_file(cx.spec))
    if cx.sym.goals_block is None and not cx.sym.is_failed("goals"):
        for p in cx.sym.probes.values():
            cx.error(f"probe '{p.name.value}' has no goals to move: the spec has no goals "
                     "block", p.name.span)


def _whole_file(spec: syntax.SpecTree) -> Span:
    return Span(spec.path, 1, 1, 1, 1)


def check_names(cx: Context) -> None:
    """Duplicate names, per kind; custom prompts may not reuse the built-in names."""
    seen: dict[tuple[str, str], Span] = {}
    def define(kind: str, name: syntax.Name) -> None:
        key = (kind, name.value)
        if key in seen:
            cx.error(f"duplicate {kind} '{name.value}' (first defined at line "
                     f"{seen[key].line})", name.span)
        else:
            seen[key] = name.span

    for b in cx.spec.blocks:
        if isinstance(b, syntax.Goals):
            for g in b.goals:
                define("goal", g.name)
        elif isinstance(b, (syntax.Probe, syntax.CsvProbe)):
            define("probe", b.name)
        elif isinstance(b, syntax.Prompt):
            if b.name.value in catalog.BUILTIN_PROMPTS:
                cx.error(f"'{b.name.value}' is a built-in prompt; give yours another name "
                         f"(prompt NAME extends {b.name.value} {{ ... }})", b.name.span)
            define("prompt", b.name)
        elif not isinstance(b, (syntax.Experiment, syntax.Evaluate)):
            define(type(b).__name__.lower(), b.name)
