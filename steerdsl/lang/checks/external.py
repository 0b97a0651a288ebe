"""What the spec relies on outside itself: corpus files and checkpoint folders on disk,
models' prices."""

from __future__ import annotations

from steerdsl.lang import files, keywords, rules, syntax
from steerdsl.lang.checks.context import Context
from steerdsl.prices import price_known


def check_files(cx: Context) -> None:
    """Corpus files exist (a glob must match something), and hf checkpoint folders, where the
    spec names them."""
    for c in cx.sym.corpora.values():
        for r in c.reads:
            if files.format_of(r.pattern.value) is None:
                continue
            if not files.expand(cx.spec_dir, r.pattern.value):
                path = files.resolve(cx.spec_dir, r.pattern.value)
                what = "no file matches" if files.is_glob(r.pattern.value) else "file not found:"
                cx.error(f"{what} {r.pattern.value} (looked at {path})", r.pattern.span)
    for m in cx.sym.models.values():
        hf = keywords.first(m.settings, "hf")
        if hf is None or not isinstance(hf.value, syntax.Str) or not hf.value.value.strip():
            continue
        folder = files.hf_folder(cx.spec_dir, hf.value.value)
        if folder is not None and not files.is_dir(folder):
            cx.error(f"checkpoint folder not found: {hf.value.value} (looked at {folder})",
                     hf.value.span)


def check_prices(cx: Context) -> None:
    """Under a budget, warn about evaluated models (and the grounding judge's model) without
    a known price: their calls would count as $0 and the budget would not bind."""
    e, ev = cx.sym.experiment, cx.sym.evaluate
    budget = keywords.first(e.settings, "budget") if e is not None else None
    if budget is None or ev is None or rules.check_setting(budget,
                                                           keywords.EXPERIMENT["budget"].rule):
        return  # no budget, or one already reported as wrong
    listed = [n.value for n in next((i.names for i in ev.items if i.key == "models"), [])]
    grounding = next((i.names[0].value for i in ev.items if i.key == "grounding"), None)
    judge = cx.sym.judges.get(grounding) if grounding is not None else None
    judge_model = keywords.first(judge.settings, "model") if judge is not None else None
    if judge_model is not None and isinstance(judge_model.value, syntax.Name):
        listed.append(judge_model.value.value)  # judge calls count toward the budget too
    for name in dict.fromkeys(listed):
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
