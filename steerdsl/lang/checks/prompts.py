"""Prompts: templates, modifiers, phrases, extends cycles, and phrase coverage; the templates
of judges."""

from __future__ import annotations

import re

from steerdsl import catalog
from steerdsl.lang import keywords, rules, syntax
from steerdsl.lang.checks.context import Context
from steerdsl.lang.suggest import closest


PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# A judge's template asks for a JSON answer and may show one ({"answer": ...}): only a word in
# braces looks like a placeholder there.
_WORD_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


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
    for j in sym.judges.values():
        prompt = keywords.first(j.settings, "prompt")
        if prompt is not None and isinstance(prompt.value, syntax.Str):
            _check_judge_template(cx, prompt.value)


def _check_template(cx: Context, t: syntax.Template) -> None:
    found = PLACEHOLDER.findall(t.text.value)
    unknown_placeholders(cx, found, catalog.PLACEHOLDERS, t.text)
    if "text" not in found:
        cx.error("the template must contain {text} (where the source text goes)", t.text.span)


def _check_judge_template(cx: Context, text: syntax.Str) -> None:
    found = _WORD_PLACEHOLDER.findall(text.value)
    unknown_placeholders(cx, found, catalog.JUDGE_PLACEHOLDERS, text)
    if any(p not in found for p in catalog.JUDGE_PLACEHOLDERS):
        cx.error("the judge's template must contain {version_a} and {version_b} (where the "
                 "source and the rewrite go)", text.span)


def unknown_placeholders(cx: Context, found: list[str], known: tuple[str, ...],
                          text: syntax.Str) -> None:
    for name in found:
        if name not in known:
            near = closest(name, known)
            cx.error(f"unknown placeholder '{{{name}}}' in template (known: "
                     + ", ".join(f"{{{p}}}" for p in known) + ")", text.span,
                     "{" + near + "}" if near else None)


def _check_phrase_coverage(cx: Context) -> None:
    sym, e = cx.sym, cx.sym.evaluate
    if e is None or sym.is_failed("goals") or sym.is_failed("prompt"):
        return
    lists = {i.key: i for i in e.items}
    if "probe" not in lists or "interventions" not in lists:
        return
    evaluated = sym.probes.get(lists["probe"].names[0].value)
    if evaluated is None:
        return
    reported: set[tuple[str, str]] = set()
    for n in lists["interventions"].names:
        iv = sym.interventions.get(n.value)
        if iv is None:
            continue
        # A fine-tune renders the same prompt for its training probe's rows too, and a
        # calibrated intervention for its calibration probe's.
        on = keywords.first(iv.settings, "on") if keywords.first(iv.settings, "finetune") \
            else keywords.first(iv.settings, keywords.CALIBRATE)
        training = sym.probes.get(on.value.value) if on and isinstance(on.value, syntax.Name) \
            else None
        for probe in (evaluated, training) if training is not None else (evaluated,):
            _check_phrases_of(cx, iv, probe, reported)


def _check_phrases_of(cx: Context, iv: syntax.Intervention,
                      probe: syntax.Probe | syntax.CsvProbe, reported: set[tuple[str, str]]
                      ) -> None:
    sym = cx.sym
    goals = sym.probe_goal_names(probe)
    prompt = iv.prompt[0].name.value if iv.prompt else "direct"
    base = sym.prompt_base(prompt)
    # closed-loop feedback words every missed goal with the prompt's phrases, whatever its base
    if base is None or not (catalog.needs_phrases(base) or iv.feedback):
        return
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
