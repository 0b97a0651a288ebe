"""The checker: an ordered tuple of passes over the syntax tree, each adding diagnostics.

Every pass sees the whole spec and reports every problem it finds, so a user gets all errors
of a file at once. References to blocks that failed to parse are not reported again. The
passes live in steerdsl.lang.checks, grouped by what they check; their order here is the
order of the diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from steerdsl.lang import syntax
from steerdsl.lang.checks.calibrate import check_calibrations
from steerdsl.lang.checks.context import Context
from steerdsl.lang.checks.external import check_files, check_prices
from steerdsl.lang.checks.feedback import check_feedback
from steerdsl.lang.checks.finetune import check_finetunes
from steerdsl.lang.checks.goals import check_goals
from steerdsl.lang.checks.probes import check_probes
from steerdsl.lang.checks.prompts import check_prompts
from steerdsl.lang.checks.references import check_references
from steerdsl.lang.checks.settings import check_settings
from steerdsl.lang.checks.structure import check_blocks, check_names
from steerdsl.lang.diagnostics import Diagnostic
from steerdsl.lang.symbols import Symbols

PASSES: tuple[Callable[[Context], None], ...] = (
    check_blocks,
    check_names,
    check_settings,
    check_references,
    check_goals,
    check_probes,
    check_finetunes,
    check_calibrations,
    check_feedback,
    check_prompts,
    check_files,
    check_prices,
)


def check(spec: syntax.SpecTree, spec_dir: Path) -> list[Diagnostic]:
    cx = Context(spec, Symbols.of(spec), spec_dir)
    for run_pass in PASSES:
        run_pass(cx)
    return cx.diags
