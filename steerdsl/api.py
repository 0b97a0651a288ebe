"""The Python API: `steerdsl.load(path)` gives a checked spec; `.plan()` its execution plan.

    spec = steerdsl.load("specs/paper.steer")   # raises SpecError with every error
    plan = spec.plan()                           # steerdsl.plan.model.Plan
    spec.run()                                   # like `steerdsl run`; resumable
    spec.query("SELECT * FROM summary").df()     # a DuckDB relation over the store
    steerdsl.rewards("specs/paper.steer")         # TRL reward functions in its goal space
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from steerdsl.lang import load_tree, syntax
from steerdsl.lang.diagnostics import Diagnostic, SourceText
from steerdsl.plan.model import Plan


class Spec:
    """A parsed and checked spec. Building the plan hashes the corpus files, so it is done
    on first use and kept."""

    def __init__(self, path: Path, tree: syntax.SpecTree, source: SourceText,
                 warnings: list[Diagnostic]):
        self.path = path
        self.tree = tree
        self.source = source
        self.warnings = warnings
        self._plan: Plan | None = None

    def plan(self) -> Plan:
        if self._plan is None:
            from steerdsl.plan.build import build_plan

            self._plan = build_plan(self.tree, self.path)
        return self._plan

    def compile(self) -> Plan:
        """The execution plan (the same as `.plan()`, named after `steerdsl compile`)."""
        return self.plan()

    def run(self, *, until: str | None = None, retry_errors: bool = False,
            quiet: bool = True, wait: bool = True):
        """Execute the plan (see `steerdsl run`); returns steerdsl.run.runner.RunResult.
        wait=False: batch jobs are submitted, not waited for (a later run collects)."""
        from steerdsl.run.runner import run_plan

        return run_plan(self.plan(), until=until, retry_errors=retry_errors, quiet=quiet,
                        wait=wait)

    def query(self, sql: str):
        """SQL over the spec's store, opened read-only: a duckdb.DuckDBPyRelation."""
        from steerdsl.store.owner import check_spec_store
        from steerdsl.store.query import open_for_query

        check_spec_store(self.plan())  # another spec's results are not this spec's
        return open_for_query(self.plan().experiment.store).sql(sql)

    def __repr__(self) -> str:
        return f"Spec({str(self.path)!r})"


def load(path: str | Path) -> Spec:
    """Parse and check a .steer file; raise steerdsl.lang.diagnostics.SpecError on errors."""
    tree, source, warnings = load_tree(path)
    return Spec(Path(path), tree, source, warnings)


def rewards(spec: str | Path | Spec, names: Sequence[str] | None = None, *,
            intervention: str | None = None) -> list[Callable[..., list[float]]]:
    """Reward functions with TRL's signature, computed in the spec's goal space (docs/method.md,
    "Rewards"): f(prompts=None, completions=..., completion_ids=None, **columns) -> list[float],
    columns as `steerdsl export-train` writes them. `names`: "steering_error",
    "miscalibration", "orthogonality", "error_<goal>" (default: steering_error); with a
    fine-tune `intervention`, its declared rewards (options included; `names` picks among
    them). Each function has `.weight`. The functions share one goal space, which keeps the
    spec's store open (its measurement cache) until `f.space.close()`. Needs the space stage
    done: `steerdsl run SPEC --until space`."""
    from steerdsl.errors import RunError
    from steerdsl.train.rewards import GoalSpace, reward_functions, reward_plans

    if not isinstance(spec, Spec):
        spec = load(spec)
    plan = spec.plan()
    wanted = reward_plans(plan, names, intervention)
    if not Path(plan.experiment.store).is_file():
        raise RunError(f"the goal space has not been computed yet (no store at "
                       f"{plan.experiment.store}): run `steerdsl run {spec.path} --until space` "
                       "first")
    prompt = plan.intervention(intervention).prompt if intervention is not None else None
    space = GoalSpace(plan, prompt=prompt)
    functions = reward_functions(space, wanted)
    for f in functions:
        f.space = space
    return functions
