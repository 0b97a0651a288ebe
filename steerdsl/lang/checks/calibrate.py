"""Calibrated requests (`calibrate on PROBE`): a prompt intervention's setting, whose prompt
asks for each goal in words, on a probe apart from the evaluated one (the rule of a
fine-tune's training probe). Together with `feedback`: the feedback checks report the pair
at this setting."""

from __future__ import annotations

from steerdsl import catalog
from steerdsl.lang import keywords, syntax
from steerdsl.lang.checks.context import Context
from steerdsl.lang.checks.finetune import check_apart_from_evaluated


def check_calibrations(cx: Context) -> None:
    for iv in cx.sym.interventions.values():
        setting = keywords.first(iv.settings, keywords.CALIBRATE)
        if setting is None or not isinstance(setting.value, syntax.Name):
            continue
        where = f"intervention '{iv.name.value}'"
        if keywords.first(iv.settings, "finetune") is not None:
            cx.error(f"'calibrate' calibrates the requests of a prompt intervention, but {where} "
                     "fine-tunes: calibrate a prompt intervention (or drop one of the two)",
                     setting.key_span)
            continue
        prompt = iv.prompt[0].name.value if iv.prompt else "direct"
        base = cx.sym.prompt_base(prompt)
        if base is not None and not catalog.needs_phrases(base):
            cx.error(f"{where} calibrates its requests, but its prompt '{prompt}' is "
                     f"{base} (one vague request, no words per goal to calibrate): use a prompt "
                     "based on direct or cot", setting.key_span)
        probe = cx.sym.probes.get(setting.value.value)
        if probe is not None:  # an unknown one is reported as such
            check_apart_from_evaluated(cx, iv, setting.value, probe, "calibration",
                                       ("calibrates", "calibrate"))
