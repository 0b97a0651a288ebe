"""What the report shows: the figures and tables of one store, as plain data.

`steerdsl.report.load` reads them from a store; `steerdsl.report.render` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Variant = Literal["binned", "raw"]

METRICS = ("steering_error", "miscalibration", "orthogonality")
METRIC_TITLES = {"steering_error": "steering error", "miscalibration": "miscalibration",
                 "orthogonality": "orthogonality"}


@dataclass
class Group:
    """One model x intervention."""

    model: str
    intervention: str

    @property
    def label(self) -> str:
        return f"{self.model} / {self.intervention}"


@dataclass
class GoalInfo:
    name: str
    lo: float | None
    hi: float | None
    measure: str  # the plan's measure, in words
    normalize: str  # the plan's normalization, in words


@dataclass
class CallCounts:
    ok: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    truncated: int = 0  # ok answers cut off at max_tokens or the context
    dropped: bool = False  # truncated answers are left out of the metrics (truncated drop)


@dataclass
class Header:
    store: str
    experiment: str | None
    spec_path: str | None
    spec_hash: str | None
    run_status: str | None
    started_at: Any
    finished_at: Any
    probe: str | None
    probe_rows: int | None
    probe_auc: float | None
    goals: list[GoalInfo]
    groups: list[Group]
    samples: dict[str, int]  # intervention -> samples per request
    model_ids: dict[str, str]  # model name -> provider's model id, from the plan
    versions: dict[str, str]
    calls: dict[tuple[str, str], CallCounts]
    total: CallCounts
    # LLM judges' requests (groundedness verdicts of the current generations, judged goals);
    # None when the store has none
    judging: CallCounts | None = None


@dataclass
class Headline:
    """summary view rows: (model, intervention, metric) -> (n, median, q1, q3, iqr)."""

    cells: dict[tuple[str, str, str], tuple[int, float, float, float, float]]


@dataclass
class Distribution:
    metric: str
    ylim: tuple[float, float]
    # group -> (n, q1, median, q3, whisker_lo, whisker_hi, edges, counts)
    boxes: dict[tuple[str, str], tuple]


@dataclass
class SideEffects:
    # (model, intervention, goal) -> (mean |move| when requested, n, when not requested, n)
    by_goal: dict[tuple[str, str, str], tuple[float | None, int, float | None, int]]
    # (model, intervention) -> {(requested goal, other goal): mean |unrequested move|}
    matrix: dict[tuple[str, str], dict[tuple[str, str], float]]
    vmax: float


@dataclass
class FlowPanel:
    x_goal: str
    y_goal: str
    arrows: list[tuple[float, float, float, float]]
    field: list[tuple[float, float, float, float]]
    n: int


@dataclass
class ScatterPanel:
    goal: str
    points: list[tuple[float, float]]  # (requested delta, realized movement)
    n: int


@dataclass
class Example:
    row_id: int
    source: str
    group: Group
    request: str
    answer: str
    goals: list[tuple[str, float | None, float | None, float | None, float | None]]
    # (goal, source, delta, target, output)
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass
class GroundingCounts:
    """grounding_summary's row of one grounded model x intervention."""

    judge: str
    judged: int
    flagged: int  # "No"
    unparsed: int
    awaiting_review: int
    overruled: int
    dropped: int  # not grounded: left out of the headline figures
    not_judged: int


@dataclass
class Flagged:
    """A rewrite the judge said "No" to (or could not read), with its rationale."""

    group: Group
    row_id: int
    sample: int
    verdict: str | None
    rationale: str | None
    decision: str | None
    source: str | None
    answer: str | None


@dataclass
class CalibrationPanel:
    """One goal of a calibrated intervention: requested delta against realized movement
    before calibration (the uncalibrated prompt on the calibration probe, with the monotone
    fit through them) and after (the calibrated answers on the evaluated probe)."""

    goal: str
    before: list[tuple[float, float]]
    fit: list[tuple[float, float]]  # (requested delta, fitted movement), by delta
    after: list[tuple[float, float]]


@dataclass
class StoreData:
    header: Header
    headline: Headline
    distributions: list[Distribution]
    side_effects: SideEffects
    flows: dict[tuple[str, str], list[FlowPanel]]
    scatters: dict[tuple[str, str], list[ScatterPanel]]
    best_of_n: dict[tuple[str, str], dict[str, list[tuple[int, float]]]]
    examples: list[Example]
    grounding: dict[tuple[str, str], GroundingCounts] = field(default_factory=dict)
    flagged: list[Flagged] = field(default_factory=list)
    training: list[TrainingStage] = field(default_factory=list)
    # (model, calibrated intervention) -> a panel per goal with a fit
    calibration: dict[tuple[str, str], list[CalibrationPanel]] = field(default_factory=dict)
    feedback: list[FeedbackRounds] = field(default_factory=list)


@dataclass
class FeedbackRounds:
    """Closed-loop feedback of one model x intervention, round by round (feedback_summary)."""

    model: str
    intervention: str
    revised: dict[int, int]  # round -> answers it asked for (round 0: the first answers)
    # round -> metric -> (n, median, q1, q3), of the answers in force after that round
    stats: dict[int, dict[str, tuple[int, float | None, float | None, float | None]]]


@dataclass
class TrainedAdapter:
    """The adapters table's row of a finished train stage."""

    path: str
    steps: int
    seconds: float | None


@dataclass
class TrainingStage:
    """What one current train stage (model x fine-tune intervention) logged, step by step."""

    model: str
    intervention: str
    curves: dict[str, list[tuple[int, float]]]  # TRL's log key -> (step, value), by step
    planned_steps: int | None  # the stage's counts["steps"] in the run's plan, if stored
    adapter: TrainedAdapter | None  # set when training finished
    # the intervention's rewards in the run's plan: (name, weight), in the spec's order
    rewards: list[tuple[str, float]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.model} / {self.intervention}"

    @property
    def steps(self) -> list[int]:
        """The steps that logged anything."""
        return sorted({s for points in self.curves.values() for s, _ in points})
