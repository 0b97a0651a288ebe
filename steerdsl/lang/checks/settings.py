"""Settings: each one's type, unit and bounds, duplicates, and the settings a block needs."""

from __future__ import annotations

from steerdsl import catalog
from steerdsl.lang import files, keywords, rules, syntax
from steerdsl.lang.checks.context import Context
from steerdsl.lang.diagnostics import Diagnostic, Span


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
            where = f"intervention {b.name.value}"
            _settings(cx, b.settings, keywords.TABLES["intervention"], where)
            for extra in b.prompt[1:]:
                cx.error(f"'prompt' is set twice in {where}", extra.span)
            for extra in b.lora[1:]:
                cx.error(f"'lora' is set twice in {where} (first at line "
                         f"{b.lora[0].span.line})", extra.span)
            for lora in b.lora:
                _settings(cx, lora.settings, keywords.LORA, "lora")
            for r in b.rewards:
                _settings(cx, r.options, keywords.REWARD, f"reward {r.metric.value}")
            sample = keywords.first(b.settings, "sample")
            select = keywords.first(b.settings, "select")
            if select and not sample:
                cx.error("'select' picks one of several samples: add 'sample N'",
                         select.key_span)
        elif isinstance(b, syntax.Probe):
            _check_probe_settings(cx, b)
        elif isinstance(b, syntax.Judge):
            _settings(cx, b.settings, keywords.JUDGE, f"judge {b.name.value}")
            if keywords.first(b.settings, "model") is None:
                cx.error(f"judge '{b.name.value}' needs a model: model NAME (a model block)",
                         b.name.span)
        elif isinstance(b, syntax.Evaluate):
            _check_evaluate_settings(cx, b)


def _settings(cx: Context, settings: list[syntax.Setting], table: dict[str, keywords.Keyword],
              where: str) -> None:
    cx.diags.extend(rules.duplicates(settings, where))
    for s in settings:
        if s.key in table:  # the others name something: check_references resolves them
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
    _check_keys(cx, m.api_keys, where)
    provider = providers[0].key if providers else None
    if provider in ("local", "hf"):
        for s in m.settings:
            if s.key in ("api_base",):
                cx.error(f"a{'n' if provider == 'hf' else ''} {provider} model has no "
                         "api_base", s.key_span)
    _check_deployments(cx, m, provider)
    _check_batch(cx, m, provider)


def _check_batch(cx: Context, m: syntax.Model, provider: str | None) -> None:
    """`batch on`: provider batch jobs, sent to one litellm endpoint."""
    batch = keywords.first(m.settings, "batch")
    if batch is None or not (isinstance(batch.value, syntax.Name) and batch.value.value == "on"):
        return
    if provider in ("local", "hf"):
        cx.error(f"batch on sends requests as provider batch jobs: only a litellm model has "
                 f"them, not {provider} (it generates in process)", batch.key_span)
    elif m.deployments:
        cx.error(f"batch on sends requests as provider batch jobs to one endpoint, and model "
                 f"'{m.name.value}' spreads requests over deployments: a batch job is not "
                 "routed (use batch on in a model block of one deployment's api_base, or "
                 "drop it)", batch.key_span)


def _check_keys(cx: Context, keys: list[syntax.ApiKeyEnv | syntax.ApiKeyLiteral],
                where: str) -> None:
    for k in keys:
        if isinstance(k, syntax.ApiKeyLiteral):
            cx.error("API keys must not be written in a spec (the key is not shown here): "
                     "use api_key env VARIABLE and set the variable", k.span)
    for extra in keys[1:]:
        cx.error(f"'api_key' is set twice in {where}", extra.span)


def _check_deployments(cx: Context, m: syntax.Model, provider: str | None) -> None:
    """Deployments: servers of one litellm model, each with its own api_base (and key)."""
    route = keywords.first(m.settings, "route")
    if not m.deployments:
        if route is not None:
            cx.error("'route' spreads requests over deployments: add deployment { api_base "
                     "\"URL\" } blocks", route.key_span)
        return
    first_span = _keyword_span(m.deployments[0].span, "deployment")
    if provider in ("local", "hf"):
        cx.error(f"a{'n' if provider == 'hf' else ''} {provider} model has no deployments "
                 "(only litellm models do)", first_span)
    base = keywords.first(m.settings, "api_base")
    if base is not None:
        cx.error(f"model '{m.name.value}' has deployments: write api_base in each deployment, "
                 "not in the model", base.key_span)
    if m.api_keys:
        cx.error(f"model '{m.name.value}' has deployments: write api_key env VARIABLE in each "
                 "deployment, not in the model", m.api_keys[0].span)
    seen: dict[str, syntax.Setting] = {}
    for d in m.deployments:
        _settings(cx, d.settings, keywords.DEPLOYMENT, "this deployment")
        _check_keys(cx, d.api_keys, "this deployment")
        url = keywords.first(d.settings, "api_base")
        if url is None:
            cx.error("a deployment needs api_base \"URL\"", _keyword_span(d.span, "deployment"))
            continue
        if not isinstance(url.value, syntax.Str):
            continue
        if url.value.value in seen:
            cx.error(f"api_base \"{url.value.value}\" is in two deployments of model "
                     f"'{m.name.value}' (first at line {seen[url.value.value].span.line})",
                     url.value.span)
        else:
            seen[url.value.value] = url


def _keyword_span(span: Span, keyword: str) -> Span:
    """The place of a block's leading keyword."""
    return Span(span.file, span.line, span.col, span.line, span.col + len(keyword))


def _check_probe_settings(cx: Context, p: syntax.Probe) -> None:
    where = f"probe {p.name.value}"
    seen: dict[type, syntax.ProbeItem] = {}
    keyword = {syntax.Sources: "sources", syntax.Requests: "requests", syntax.Active: "active",
               syntax.Delta: "delta", syntax.ProbeGoals: "goals", syntax.ProbeExclude: "exclude"}
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
