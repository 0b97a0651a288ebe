"""Goals: normalizations, judge scales, python measures (their module and function)."""

from __future__ import annotations

import ast as pyast
from pathlib import Path

from steerdsl.lang import files, rules, syntax
from steerdsl.lang.checks.context import Context


def check_goals(cx: Context) -> None:
    """Normalizations, judge scales, python references."""
    for g in cx.sym.goals.values():
        m, norm = g.measure, g.normalize
        if g.question is not None and not g.question.value.strip():
            cx.error(f"goal '{g.name.value}': the question must not be empty (it is what "
                     "`steerdsl validate-goals` asks a judge: \"Which version is ...?\")",
                     g.question.span)
        if norm is None and not isinstance(m, syntax.JudgeMeasure):
            cx.error(f"goal '{g.name.value}' needs a normalization: normalize LO..HI or "
                     "normalize quantile 2.5%..97.5% of CORPUS", g.name.span)
        if isinstance(norm, syntax.FixedNorm):
            lo, hi = norm.range.lo, norm.range.hi
            bad = [n for n in (lo, hi) if n.percent]
            for n in bad:
                cx.error("fixed bounds are raw values, not percentages (for percentiles "
                         "write normalize quantile A%..B% of CORPUS)", n.span)
            if not bad and not lo.value < hi.value:
                cx.error(f"normalize {lo.text}..{hi.text}: the lower bound must be below the "
                         "upper one", norm.range.span)
        elif isinstance(norm, syntax.QuantileNorm):
            lo, hi = norm.range.lo, norm.range.hi
            bad = False
            for n in (lo, hi):
                if not n.percent:
                    cx.error("quantiles are percentages", n.span, f"{n.text}%")
                    bad = True
                elif not 0 < n.value < 100:
                    cx.error(f"a quantile must be between 0% and 100% (exclusive), got {n.text}",
                             n.span)
                    bad = True
            if not bad and not lo.value < hi.value:
                cx.error(f"quantiles {lo.text}..{hi.text}: the lower must be below the upper",
                         norm.range.span)
        if isinstance(m, syntax.JudgeMeasure):
            lo, hi = m.scale.lo, m.scale.hi
            if lo.percent or hi.percent or not lo.value < hi.value:
                cx.error(f"scale {lo.text}..{hi.text} must be two plain numbers, lower first",
                         m.scale.span)
            if not m.rubric.value.strip():
                cx.error("the rubric must not be empty", m.rubric.span)
        if isinstance(m, syntax.PythonMeasure):
            _check_python(cx, m)
            if m.timeout is not None:
                cx.diags.extend(rules.check_number(m.timeout, rules.PYTHON_TIMEOUT,
                                                   "'timeout'"))


def _check_python(cx: Context, m: syntax.PythonMeasure) -> None:
    parts = files.split_python_ref(m.ref.value)
    if parts is None:
        cx.error(f"'{m.ref.value}' is not of the form \"module:function\"", m.ref.span)
        return
    module, function = parts
    path = files.find_module_file(module, cx.spec_dir)
    if path is None:
        if not files.module_exists(module, cx.spec_dir):
            cx.error(f"module '{module}' not found next to the spec or on the Python path",
                     m.ref.span)
        return
    if path.suffix == ".py" and not _defines(path, function):
        cx.error(f"module '{module}' ({path.name}) defines no '{function}'", m.ref.span)


def _defines(path: Path, name: str) -> bool:
    """Whether a module's source may define `name` (read, never executed). Lenient: any
    binding of the name anywhere, a star import or a module __getattr__ counts."""
    try:
        tree = pyast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return True
    for node in pyast.walk(tree):
        if isinstance(node, (pyast.FunctionDef, pyast.AsyncFunctionDef, pyast.ClassDef)):
            if node.name in (name, "__getattr__"):
                return True
        elif isinstance(node, (pyast.Import, pyast.ImportFrom)):
            if any(a.name == "*" or (a.asname or a.name.split(".")[0]) == name
                   for a in node.names):
                return True
        elif isinstance(node, pyast.Name) and node.id == name and \
                isinstance(node.ctx, pyast.Store):
            return True
    return False
