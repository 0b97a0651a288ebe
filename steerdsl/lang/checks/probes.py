"""Probes: `active` fits the goals a probe may move; csv probes' files exist; exclusions
name other probes, without a cycle."""

from __future__ import annotations

from steerdsl.lang import files, rules, syntax
from steerdsl.lang.checks.context import Context
from steerdsl.lang.diagnostics import Diagnostic


def check_probes(cx: Context) -> None:
    """`active` fits the goals the probe may move; csv probes' files exist; exclusions."""
    _check_exclusions(cx)
    for p in cx.sym.probes.values():
        if cx.sym.goals_block is None and isinstance(p, syntax.Probe):
            continue  # reported once by check_blocks
        if isinstance(p, syntax.CsvProbe):
            path = files.resolve(cx.spec_dir, p.path.value)
            if not files.is_file(path):
                cx.error(f"probe file not found: {p.path.value} (looked at {path})", p.path.span)
            continue
        goals = cx.sym.probe_goal_names(p)
        d = len(goals)
        listed = [n for i in p.items if isinstance(i, syntax.ProbeGoals) for n in i.names]
        if any(n.value not in cx.sym.goals for n in listed):
            continue  # already reported as unknown goals; a count now would mislead
        for item in p.items:
            if not isinstance(item, syntax.Active) or cx.sym.is_failed("goals"):
                continue
            values = [item.value] if isinstance(item.value, syntax.Num) else \
                [item.value.lo, item.value.hi]
            errors = []
            for n in values:
                errors += rules.check_number(n, rules.Number(1, None, integer=True), "'active'")
                if not errors and n.value > d:
                    errors.append(Diagnostic(
                        "error", f"'active' is {n.text} but probe '{p.name.value}' may move "
                        f"only {d} goal{'s' if d != 1 else ''}", n.span))
            cx.diags.extend(errors)
            if not errors and isinstance(item.value, syntax.Range) and \
                    item.value.lo.value > item.value.hi.value:
                cx.error(f"active {item.value.lo.text}..{item.value.hi.text}: the lower bound "
                         "must not exceed the upper", item.value.span)


def _check_exclusions(cx: Context) -> None:
    """A probe excludes other probes (drawn before it), never itself, never in a cycle."""
    excludes = {name: [n for i in p.items if isinstance(i, syntax.ProbeExclude) for n in i.names]
                for name, p in cx.sym.probes.items() if isinstance(p, syntax.Probe)}
    for name, names in excludes.items():
        for n in names:
            if n.value == name:
                cx.error(f"probe '{name}' cannot exclude itself", n.span)
            elif _reaches(excludes, n.value, name):
                cx.error(f"probes '{name}' and '{n.value}' exclude each other (through "
                         "their exclude lists): each is drawn after the ones it excludes, "
                         "so one must not exclude the other", n.span)


def _reaches(excludes: dict[str, list[syntax.Name]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            todo += [n.value for n in excludes.get(name, [])]
    return False
