"""The checker: an ordered tuple of passes over the syntax tree, each adding diagnostics.

Every pass sees the whole spec and reports every problem it finds, so a user gets all errors
of a file at once. References to blocks that failed to parse are not reported again.
"""

from __future__ import annotations

import ast as pyast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from steerdsl import catalog
from steerdsl.lang import files, syntax
from steerdsl.lang import keywords, rules
from steerdsl.lang.diagnostics import Diagnostic, Span
from steerdsl.lang.suggest import closest
from steerdsl.lang.symbols import Symbols
from steerdsl.prices import price_known


@dataclass
class Context:
    spec: syntax.SpecTree
    sym: Symbols
    spec_dir: Path
    diags: list[Diagnostic] = field(default_factory=list)

    def error(self, message: str, span: Span, suggestion: str | None = None) -> None:
        self.diags.append(Diagnostic("error", message, span, suggestion))

    def warn(self, message: str, span: Span) -> None:
        self.diags.append(Diagnostic("warning", message, span))

    def unknown(self, kind: str, name: syntax.Name, known, failed_kind: str | None = None) -> bool:
        """Report `name` unless it is known; True when it is known (or excused)."""
        if name.value in known:
            return True
        if failed_kind and self.sym.is_failed(failed_kind, name.value):
            return True
        options = list(known)
        listed = f" (defined: {', '.join(options)})" if 0 < len(options) <= 8 else ""
        self.error(f"unknown {kind} '{name.value}'{listed}", name.span,
                   closest(name.value, options))
        return False


def _whole_file(spec: syntax.SpecTree) -> Span:
    return Span(spec.path, 1, 1, 1, 1)


# --- passes ----------------------------------------------------------------------------------


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


def check_settings(cx: Context) -> None:
    """Each setting's type, unit and bounds; duplicates; required settings."""
    for b in cx.spec.blocks:
        if isinstance(b, syntax.Experiment):
            _settings(cx, b.settings, keywords.EXPERIMENT, f"experiment {b.name.value}")
        elif isinstance(b, syntax.Corpus):
            _settings(cx, b.settings, keywords.CORPUS, f"corpus {b.name.value}")
            if not b.reads:
                cx.error(f"corpus '{b.name.value}' reads nothing: add read \"PATH\" text "
                         "\"COLUMN\"", b.name.span)
            for r in b.reads:
                _settings(cx, r.fields, keywords.READ, "this read")
                if files.format_of(r.pattern.value) is None:
                    cx.error(f"cannot tell the format of '{r.pattern.value}' from its "
                             f"extension (known: {', '.join(files.FORMATS)})", r.pattern.span)
        elif isinstance(b, syntax.Model):
            _check_model(cx, b)
        elif isinstance(b, syntax.Intervention):
            _settings(cx, b.settings, keywords.INTERVENTION, f"intervention {b.name.value}")
            for extra in b.prompt[1:]:
                cx.error(f"'prompt' is set twice in intervention {b.name.value}", extra.span)
            sample = keywords.first(b.settings, "sample")
            select = keywords.first(b.settings, "select")
            if select and not sample:
                cx.error("'select' picks one of several samples: add 'sample N'",
                         select.key_span)
        elif isinstance(b, syntax.Probe):
            _check_probe_settings(cx, b)
        elif isinstance(b, syntax.Evaluate):
            _check_evaluate_settings(cx, b)


def _settings(cx: Context, settings: list[syntax.Setting], table: dict[str, keywords.Keyword],
              where: str) -> None:
    cx.diags.extend(rules.duplicates(settings, where))
    for s in settings:
        cx.diags.extend(rules.check_setting(s, table[s.key].rule))


def _check_model(cx: Context, m: syntax.Model) -> None:
    where = f"model {m.name.value}"
    _settings(cx, m.settings, keywords.MODEL, where)
    providers = [s for s in m.settings if s.key in keywords.PROVIDERS]
    if not providers:
        cx.error(f"model '{m.name.value}' needs a provider: litellm \"PROVIDER/MODEL\" or "
                 f"local \"{next(iter(catalog.LOCAL_MODELS))}\"", m.name.span)
    for extra in providers[1:]:
        cx.error(f"model '{m.name.value}' has two providers; keep one", extra.key_span)
    for k in m.api_keys:
        if isinstance(k, syntax.ApiKeyLiteral):
            cx.error("API keys must not be written in a spec (the key is not shown here): "
                     "use api_key env VARIABLE and set the variable", k.span)
    for extra in m.api_keys[1:]:
        cx.error(f"'api_key' is set twice in {where}", extra.span)
    if providers and providers[0].key == "local":
        for s in m.settings:
            if s.key in ("api_base",):
                cx.error("a local model has no api_base", s.key_span)


def _check_probe_settings(cx: Context, p: syntax.Probe) -> None:
    where = f"probe {p.name.value}"
    seen: dict[type, syntax.ProbeItem] = {}
    keyword = {syntax.Sources: "sources", syntax.Requests: "requests", syntax.Active: "active",
               syntax.Delta: "delta", syntax.ProbeGoals: "goals"}
    for item in p.items:
        if type(item) in seen:
            cx.error(f"'{keyword[type(item)]}' is set twice in {where} (first at line "
                     f"{seen[type(item)].span.line})", item.span)
            continue
        seen[type(item)] = item
        if isinstance(item, (syntax.Sources, syntax.Requests)):
            cx.diags.extend(rules.check_number(item.count, rules.COUNT,
                                               f"'{keyword[type(item)]}'"))
        elif isinstance(item, syntax.Delta):
            _check_delta(cx, item)
    for needed in (syntax.Sources, syntax.Requests, syntax.Active):
        if needed not in seen:
            example = {syntax.Sources: "sources 64 weighted uniform",
                       syntax.Requests: "requests 32 per source", syntax.Active: "active 3"}[needed]
            cx.error(f"probe '{p.name.value}' needs '{keyword[needed]}' (e.g. {example})",
                     p.name.span)


def _check_delta(cx: Context, d: syntax.Delta) -> None:
    lo, hi = d.range.lo, d.range.hi
    ok = True
    for n in (lo, hi):
        found = rules.check_number(n, rules.Number(-1, 1), "delta bounds")
        cx.diags.extend(found)
        ok = ok and not found
    if ok and not lo.value < 0 < hi.value:
        cx.error(f"delta {lo.text}..{hi.text} must allow both directions: min < 0 < max",
                 d.range.span)
        ok = False
    if d.deadzone is not None:
        found = rules.check_number(d.deadzone, rules.Number(0, 0.5), "the deadzone")
        if not found and d.deadzone.value >= 0.5:
            found = [Diagnostic("error", f"the deadzone must be below 0.5, got "
                                f"{d.deadzone.text}", d.deadzone.span)]
        cx.diags.extend(found)
        if ok and not found and d.deadzone.value >= min(-lo.value, hi.value):
            cx.error(f"the deadzone {d.deadzone.text} leaves no room inside delta "
                     f"{lo.text}..{hi.text}", d.deadzone.span)


def _check_evaluate_settings(cx: Context, e: syntax.Evaluate) -> None:
    seen: dict[str, syntax.NameList] = {}
    for item in e.items:
        if item.key in seen:
            cx.error(f"'{item.key}' is set twice in evaluate (first at line "
                     f"{seen[item.key].span.line})", item.key_span)
            continue
        seen[item.key] = item
        names: dict[str, syntax.Name] = {}
        for n in item.names:
            if n.value in names:
                cx.error(f"'{n.value}' is listed twice", n.span)
            names[n.value] = n
    for needed, example in (("probe", "probe NAME"), ("models", "models a, b"),
                            ("interventions", "interventions direct")):
        if needed not in seen:
            cx.error(f"evaluate needs '{needed}' ({example})",
                     Span(e.span.file, e.span.line, e.span.col, e.span.line, e.span.col + 8))


def check_references(cx: Context) -> None:
    """Every name used refers to a definition of the right kind."""
    sym = cx.sym
    goals_known = sym.goals if not sym.is_failed("goals") else _Everything()
    for b in cx.spec.blocks:
        if isinstance(b, syntax.Probe):
            cx.unknown("corpus", b.corpus, sym.corpora, "corpus")
            for item in b.items:
                if isinstance(item, syntax.ProbeGoals):
                    listed: set[str] = set()
                    for n in item.names:
                        cx.unknown("goal", n, goals_known, "goal")
                        if n.value in listed:
                            cx.error(f"goal '{n.value}' is listed twice", n.span)
                        listed.add(n.value)
        elif isinstance(b, syntax.Intervention):
            for p in b.prompt:
                cx.unknown("prompt", p.name, sym.prompt_names(), "prompt")
        elif isinstance(b, syntax.Prompt):
            if b.base is not None:
                cx.unknown("prompt", b.base, sym.prompt_names(), "prompt")
            for item in b.items:
                if isinstance(item, syntax.PhraseDef):
                    cx.unknown("goal", item.goal, goals_known, "goal")
        elif isinstance(b, syntax.Evaluate):
            tables = {"probe": (sym.probes, "probe"), "models": (sym.models, "model"),
                      "interventions": (sym.interventions, "intervention")}
            for item in b.items:
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


def check_goals(cx: Context) -> None:
    """Normalizations, judge scales, python references."""
    for g in cx.sym.goals.values():
        m, norm = g.measure, g.normalize
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


def check_probes(cx: Context) -> None:
    """`active` fits the goals the probe may move; csv probes' files exist."""
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


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def check_prompts(cx: Context) -> None:
    """Templates, modifiers, phrases, extends cycles, and phrase coverage: every goal a probe
    may move has a phrase in every direct/cot-based prompt used with that probe."""
    sym = cx.sym
    for p in sym.prompts.values():
        if sym.prompt_chain(p.name.value) is None and p.base is not None and \
                (p.base.value in sym.prompts or p.base.value in catalog.BUILTIN_PROMPTS):
            cx.error(f"prompt '{p.name.value}' extends itself through a cycle", p.base.span)
        seen_kinds: dict[type, object] = {}
        phrases: set[str] = set()
        for item in p.items:
            if isinstance(item, (syntax.Template, syntax.Modifiers)):
                if type(item) in seen_kinds:
                    word = "template" if isinstance(item, syntax.Template) else "modifiers"
                    cx.error(f"'{word}' is set twice in prompt {p.name.value}", item.span)
                seen_kinds[type(item)] = item
            if isinstance(item, syntax.Template):
                _check_template(cx, item)
            elif isinstance(item, syntax.PhraseDef):
                if item.goal.value in phrases:
                    cx.error(f"goal '{item.goal.value}' has two phrases in prompt "
                             f"{p.name.value}", item.goal.span)
                phrases.add(item.goal.value)
            elif isinstance(item, syntax.Modifiers):
                words: set[str] = set()
                for mod in item.items:
                    cx.diags.extend(rules.check_number(mod.threshold, rules.Number(0, 1),
                                                       f"the threshold of '{mod.word.value}'"))
                    if mod.word.value in words:
                        cx.error(f"modifier '{mod.word.value}' is given twice", mod.word.span)
                    words.add(mod.word.value)
    _check_phrase_coverage(cx)


def _check_template(cx: Context, t: syntax.Template) -> None:
    text = t.text.value
    found = _PLACEHOLDER.findall(text)
    known = catalog.PLACEHOLDERS
    for name in found:
        if name not in known:
            near = closest(name, known)
            cx.error(f"unknown placeholder '{{{name}}}' in template (known: "
                     + ", ".join(f"{{{p}}}" for p in known) + ")", t.text.span,
                     "{" + near + "}" if near else None)
    if "text" not in found:
        cx.error("the template must contain {text} (where the source text goes)", t.text.span)


def _check_phrase_coverage(cx: Context) -> None:
    sym, e = cx.sym, cx.sym.evaluate
    if e is None or sym.is_failed("goals") or sym.is_failed("prompt"):
        return
    lists = {i.key: i for i in e.items}
    if "probe" not in lists or "interventions" not in lists:
        return
    probe = sym.probes.get(lists["probe"].names[0].value)
    if probe is None:
        return
    goals = sym.probe_goal_names(probe)
    reported: set[tuple[str, str]] = set()
    for n in lists["interventions"].names:
        iv = sym.interventions.get(n.value)
        if iv is None:
            continue
        prompt = iv.prompt[0].name.value if iv.prompt else "direct"
        base = sym.prompt_base(prompt)
        if base is None or not catalog.needs_phrases(base):
            continue
        have = sym.phrases(prompt)
        for g in goals:
            if g in have or (prompt, g) in reported:
                continue
            reported.add((prompt, g))
            where = sym.prompts[prompt].name.span if prompt in sym.prompts else \
                (iv.prompt[0].name.span if iv.prompt else iv.name.span)
            cx.error(f"goal '{g}' may be moved by probe '{probe.name.value}' but prompt "
                     f"'{prompt}' (used by intervention '{iv.name.value}') has no phrase "
                     f"for it: add  phrase {g} up \"...\" down \"...\"  to a prompt extending "
                     f"{base}", where)


def check_files(cx: Context) -> None:
    """Corpus files exist (a glob must match something), where the spec names them."""
    for c in cx.sym.corpora.values():
        for r in c.reads:
            if files.format_of(r.pattern.value) is None:
                continue
            if not files.expand(cx.spec_dir, r.pattern.value):
                path = files.resolve(cx.spec_dir, r.pattern.value)
                what = "no file matches" if files.is_glob(r.pattern.value) else "file not found:"
                cx.error(f"{what} {r.pattern.value} (looked at {path})", r.pattern.span)


def check_prices(cx: Context) -> None:
    """Under a budget, warn about evaluated models without a known price: their calls would
    count as $0 and the budget would not bind."""
    e, ev = cx.sym.experiment, cx.sym.evaluate
    budget = keywords.first(e.settings, "budget") if e is not None else None
    if budget is None or ev is None or rules.check_setting(budget,
                                                           keywords.EXPERIMENT["budget"].rule):
        return  # no budget, or one already reported as wrong
    listed = next((i.names for i in ev.items if i.key == "models"), [])
    for name in dict.fromkeys(n.value for n in listed):
        m = cx.sym.models.get(name)
        if m is None:
            continue  # reported as unknown
        provider = next((s for s in m.settings if s.key in keywords.PROVIDERS), None)
        if provider is None or not isinstance(provider.value, syntax.Str):
            continue  # reported as missing
        declared = keywords.first(m.settings, "price") is not None
        if not price_known(provider.key, provider.value.value, declared):
            cx.warn(f"model '{name}' has no known price (litellm has none for "
                    f"'{provider.value.value}'): under the budget its calls count as $0; "
                    "declare one in its model block: price in X out Y (US dollars per "
                    "million input and output tokens)", provider.value.span)


PASSES: tuple[Callable[[Context], None], ...] = (
    check_blocks,
    check_names,
    check_settings,
    check_references,
    check_goals,
    check_probes,
    check_prompts,
    check_files,
    check_prices,
)


def check(spec: syntax.SpecTree, spec_dir: Path) -> list[Diagnostic]:
    cx = Context(spec, Symbols.of(spec), spec_dir)
    for run_pass in PASSES:
        run_pass(cx)
    return cx.diags
