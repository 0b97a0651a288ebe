"""The execution plan: the only thing the runtime consumes.

Everything a run does is visible here, defaults included (a reader sees them with
`steerdsl compile --json`). The plan is pure data: no source spans, no secrets (API keys are
referenced by environment variable name only), absolute paths resolved against the spec's folder.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from steerdsl.plan.keys import StageKey, StageKind

PLAN_FORMAT = 1


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- goals ---------------------------------------------------------------------------------


class BuiltinMeasure(Frozen):
    kind: Literal["builtin"] = "builtin"
    name: str  # a name from steerdsl.catalog.MEASURES


class PythonMeasure(Frozen):
    kind: Literal["python"] = "python"
    ref: str  # "module:function", a function str -> float
    source_sha256: str | None = None  # of the module file, when found; part of the identity
    # Seconds one call may take (not part of the identity: it changes no value it lets through).
    timeout: float = 60.0


class Num(Frozen):
    kind: Literal["num"] = "num"
    value: float


class Ref(Frozen):
    kind: Literal["ref"] = "ref"
    measure: str  # a built-in measure name


class Neg(Frozen):
    kind: Literal["neg"] = "neg"
    arg: ExprNode


class BinOp(Frozen):
    kind: Literal["binop"] = "binop"
    op: Literal["+", "-", "*", "/"]
    left: ExprNode
    right: ExprNode


ExprNode = Annotated[Union[Num, Ref, Neg, BinOp], Field(discriminator="kind")]


class ExprMeasure(Frozen):
    """Arithmetic over built-in measures; division by zero gives NULL (a per-text error)."""

    kind: Literal["expr"] = "expr"
    expr: ExprNode
    text: str  # canonical, fully parenthesized form, for display


class JudgeMeasure(Frozen):
    """An LLM-judged score: the rubric and the text go to `model`, the first number in the
    answer is the raw value, checked against [scale_lo, scale_hi]."""

    kind: Literal["judge"] = "judge"
    model: str
    rubric: str
    scale_lo: float
    scale_hi: float


Measure = Annotated[
    Union[BuiltinMeasure, PythonMeasure, ExprMeasure, JudgeMeasure], Field(discriminator="kind")
]


class FixedNorm(Frozen):
    kind: Literal["fixed"] = "fixed"
    lo: float
    hi: float


class QuantileNorm(Frozen):
    """lo = P_lo_pct, hi = P_hi_pct (numpy linear percentile) of the corpus's raw values."""

    kind: Literal["quantile"] = "quantile"
    lo_pct: float
    hi_pct: float
    corpus: str


Normalization = Annotated[Union[FixedNorm, QuantileNorm], Field(discriminator="kind")]


class GoalPlan(Frozen):
    name: str
    measure: Measure
    normalize: Normalization
    # Identity of the raw measure for the measurement cache: definition + versions of what it
    # uses. Independent of the goal's name, so renaming a goal measures nothing again.
    measure_id: str
    versions: dict[str, str] = {}
    # What `steerdsl validate-goals` asks a judge about two versions ("Which version is ...?");
    # None: the catalog's question for the paper's goals. Not part of any identity.
    question: str | None = None


# --- corpus and probe ----------------------------------------------------------------------


class FileRef(Frozen):
    path: str  # absolute
    sha256: str
    size: int


class CorpusSource(Frozen):
    pattern: str  # absolute path or glob, as written but resolved against the spec's folder
    format: Literal["csv", "jsonl", "json", "parquet", "txt"]
    text_field: str
    label_field: str | None = None
    files: list[FileRef]  # what the pattern matched at compile time


class CorpusPlan(Frozen):
    name: str
    sources: list[CorpusSource]
    min_words: int | None = None
    max_words: int | None = None
    dedupe: bool = False
    chunk_sentences: int | None = None  # split texts into paragraphs of N sentences


class SampledProbePlan(Frozen):
    kind: Literal["sample"] = "sample"
    name: str
    corpus: str
    goals: list[str]  # goals that may be requested to move (and weighted on), in goal order
    sources: int
    weighting: Literal["uniform", "none"] = "uniform"
    requests_per_source: int
    active_min: int
    active_max: int
    delta_min: float = -0.7
    delta_max: float = 0.7
    deadzone: float = 0.1
    seed: int  # derived from the experiment seed and the probe's name
    # Probes whose source texts this one never draws (a training probe excludes the evaluated
    # one, so no text is in both).
    exclude: list[str] = []


class CsvProbePlan(Frozen):
    """A probe in the reference tool's CSV layout (text, source_<g>, delta_<g>, target_<g>)."""

    kind: Literal["csv"] = "csv"
    name: str
    path: str  # absolute
    file: FileRef | None = None  # None when the file is missing at compile time
    goals: list[str]


ProbePlan = Annotated[Union[SampledProbePlan, CsvProbePlan], Field(discriminator="kind")]


# --- models, prompts, interventions ----------------------------------------------------------


class SamplingParams(Frozen):
    """Sampling settings; None means "not sent" (the provider's default)."""

    temperature: float | None = None
    top_p: float | None = None
    min_p: float | None = None
    max_tokens: int | None = None


class Price(Frozen):
    """A model's price as declared in the spec: US dollars per million tokens."""

    input_per_mtok: float
    output_per_mtok: float


# What the metrics do with answers cut off at max_tokens (or the context): 'score' scores them
# and flags them (metrics.truncated), 'drop' leaves them out. A scoring decision: part of the
# score stage's hash, not the generate stage's (the same requests are sent either way).
Truncated = Literal["score", "drop"]


class DeploymentPlan(Frozen):
    """One server (region, key) of a model behind litellm's Router: identical weights only."""

    api_base: str
    api_key_env: str | None = None  # the NAME of an environment variable; never its value
    rpm: int | None = None
    tpm: int | None = None


class ModelPlan(Frozen):
    name: str
    # litellm: a hosted (or self-hosted OpenAI-compatible) model through litellm; local: a
    # built-in GGUF model through llama-cpp-python; hf: transformers weights in process (a
    # Hugging Face id found in the local cache, or a checkpoint folder). local and hf models
    # can be fine-tuned.
    provider: Literal["litellm", "local", "hf"]
    model: str  # litellm model id, the local model's name ("smollm2"), or an hf id or path
    # A LoRA adapter folder (absolute) on top of an hf model. Never written in a spec: the
    # generate stage of a fine-tune intervention resolves its model to the base plus the
    # adapter its train stage wrote.
    adapter: str | None = None
    api_base: str | None = None
    api_key_env: str | None = None  # the NAME of an environment variable; never its value
    sampling: SamplingParams = SamplingParams()
    concurrency: int = 8
    rpm: int | None = None
    tpm: int | None = None
    timeout: float = 120.0  # seconds per request
    retries: int = 5
    price: Price | None = None  # declared; None = litellm's price table (the local model: 0)
    truncated: Truncated = "score"  # answers cut off at max_tokens: see truncated_policy
    # Several servers of this model: requests spread over them by litellm's Router (`route`).
    deployments: list[DeploymentPlan] = []
    route: Literal["simple-shuffle", "least-busy"] = "simple-shuffle"
    # Send the generate requests as provider batch jobs (steerdsl.stages.generate.batch).
    # How requests travel, not what they ask: in no hash; left out of dumps when off, so
    # plans and settings of models without it read as before it existed.
    batch: bool = False

    @model_serializer(mode="wrap")
    def _without_batch_off(self, handler):
        data = handler(self)
        if isinstance(data, dict) and not self.batch:
            data.pop("batch", None)
        return data


class Phrase(Frozen):
    up: str
    down: str


class Modifier(Frozen):
    """`word` when |delta| is strictly above (or below) `threshold`."""

    word: str
    when: Literal["above", "below"]
    threshold: float


class PromptPlan(Frozen):
    name: str
    base: Literal["direct", "underspecified", "cot"]
    # Placeholders: {requests} (joined intents, or one vague request), {suffix} (negative /
    # no-explain / cot suffixes, in that order), {text} (the source text).
    template: str
    phrases: dict[str, Phrase]  # for every goal of the spec
    modifiers: list[Modifier]
    no_change: str = "as close to the original as possible"
    vague_requests: list[str] = []  # underspecified: one chosen per row by seed
    negative_text: str
    no_explain_text: str
    cot_text: str | None = None
    answer_after: str | None = None  # cot: the answer is the text after this header line


class _Generating(Frozen):
    """What every intervention decides about its requests: the prompt, its suffixes and
    sampling, and best-of-N."""

    name: str
    prompt: str  # a PromptPlan name
    negative: bool = False
    no_explain: bool = True
    samples: int = 1
    sampling: SamplingParams = SamplingParams()  # overrides the model's settings
    select: Literal["nearest", "first"] = "nearest"
    truncated: Truncated | None = None  # None: the model's


class FeedbackPlan(Frozen):
    """Closed-loop feedback (docs/method.md, "Closed-loop feedback"): after each answer the
    generate stage measures it; when a goal misses its target by more than the probe's
    deadzone, it replies in the same conversation with `template` and asks for a revision, at
    most `rounds` times. The sentence forms say per missed goal what was asked ({asked}), what
    the answer did ({got}) and what to do now ({fix}), in the prompt's phrases and modifiers."""

    rounds: int
    template: str  # {feedback}: the sentences of the missed goals; {suffix}: the prompt's
    moved: str  # an asked goal that moved (the wrong amount or way)
    unmoved: str  # an asked goal that did not move (less than the deadzone)
    unasked: str  # a goal not asked to move that moved


class PromptIntervention(_Generating):
    """Steering by the request's wording alone: a prompt, its suffixes and sampling; with
    `feedback`, revised in a closed loop.

    `calibrate`: a probe on which the calibrate stage fits how the model's realized movement
    follows the requested one; the evaluation then asks for what the fit says lands on the
    target (docs/method.md, "Calibrated requests"). None: requests as drawn."""

    kind: Literal["prompt"] = "prompt"
    # Settings added later are left out of dumps when unset, so plans and stage hashes of
    # interventions without them read as before they existed.
    calibrate: str | None = None
    feedback: FeedbackPlan | None = None

    @model_serializer(mode="wrap")
    def _without_unset(self, handler):
        data = handler(self)
        if isinstance(data, dict):
            for name in _DROPPED_WHEN_UNSET:
                if getattr(self, name) is None:
                    data.pop(name, None)
        return data


_DROPPED_WHEN_UNSET = ("calibrate", "feedback")


RewardMetric = Literal["steering_error", "miscalibration", "orthogonality", "error"]


class RewardPlan(Frozen):
    """One reward of a fine-tune, computed in the spec's goal space (docs/method.md, "Rewards").

    steering_error: -||zh - z*|| over every goal (the raw metric, negated); with `good_enough`
    a goal's error below it counts as `good_enough`, with `decile` errors round up to the next
    tenth, with `squared` the sum of squares is not rooted. miscalibration and orthogonality:
    the raw metrics, negated. error: -|zh_g - z*_g| of one goal (`good_enough`, `decile` apply).
    TRL adds the rewards up with their weights."""

    metric: RewardMetric
    goal: str | None = None  # the goal of an `error` reward
    weight: float = 1.0
    good_enough: float | None = None
    decile: bool = False
    squared: bool = False

    @property
    def name(self) -> str:
        """Unique within a fine-tune: the name in the training log and TRL's logs."""
        return f"error_{self.goal}" if self.metric == "error" else self.metric


class LoraPlan(Frozen):
    r: int = 16
    alpha: float = 32.0
    dropout: float = 0.05


class GrpoPlan(Frozen):
    """GRPO with a LoRA adapter (TRL's GRPOTrainer). `batch` counts completions per step:
    `batch / generations` prompts, each answered `generations` times."""

    method: Literal["grpo"] = "grpo"
    probe: str  # the training probe; its sources never overlap the evaluated probe's
    rewards: list[RewardPlan]
    lora: LoraPlan = LoraPlan()
    steps: int = 200
    generations: int = 8
    batch: int = 8  # a multiple of generations
    learning_rate: float = 1e-6
    beta: float = 0.0  # KL coefficient (TRL's default 0: no reference model is kept)
    max_completion: int = 256  # tokens per training completion
    temperature: float = 1.0  # sampling during training
    save_every: int = 25  # steps between checkpoints (a killed training resumes from the last)


class FinetuneIntervention(_Generating):
    """A model fine-tuned for steerability (train stage), then asked with the same prompt.
    The base model is each evaluated model; it must be trainable (local or hf)."""

    kind: Literal["finetune"] = "finetune"
    train: GrpoPlan
    # An OpenAI-compatible server (vLLM with --enable-lora) serving the trained adapter under
    # the intervention's name; None: generate in process with transformers.
    serve: str | None = None


InterventionPlan = Annotated[Union[PromptIntervention, FinetuneIntervention],
                            Field(discriminator="kind")]


def truncated_policy(model: ModelPlan, intervention: InterventionPlan) -> Truncated:
    """The intervention's setting, else the model's."""
    return intervention.truncated or model.truncated


class JudgePlan(Frozen):
    """An LLM judge of groundedness: does a rewrite still describe the same content as its
    source? `template` holds {version_a} and {version_b}; the built-in `groundedness` prompt
    is filled in, so the plan shows exactly what is sent."""

    name: str
    model: str  # a model block's name
    prompt: str  # "groundedness" (built in) or "custom"
    template: str
    order: Literal["random", "both"] = "random"  # random: A/B drawn per answer; both: twice
    spot_check: int = 0  # "Yes" verdicts per model x intervention sent to review
    candidates: Literal["selected", "all"] = "selected"  # best-of-N: which answers are judged


class EvaluatePlan(Frozen):
    probe: str
    models: list[str]
    interventions: list[str]
    grounding: str | None = None  # a judge's name: ungrounded answers leave the summary


class ExecutorPlan(Frozen):
    """Where built-in measures are computed (`executor ray "ADDRESS"`): it changes no value,
    so it is part of no hash; `steerdsl run --ray ADDRESS` overrides it."""

    kind: Literal["ray"] = "ray"
    address: str  # 'auto', HOST:PORT or ray://HOST:PORT


class ExperimentPlan(Frozen):
    name: str
    seed: int
    store: str  # absolute path of the DuckDB file
    budget_usd: float | None = None
    executor: ExecutorPlan | None = None

    @model_serializer(mode="wrap")
    def _without_executor_unset(self, handler):
        # plans without one read as before it existed (golden plans, stored runs.plan)
        data = handler(self)
        if isinstance(data, dict) and self.executor is None:
            data.pop("executor", None)
        return data


# --- stages --------------------------------------------------------------------------------


class Stage(Frozen):
    """One unit of work. `hash` covers the stage's own semantics and its inputs' hashes, so a
    change to the spec changes exactly the hashes downstream of it. `id` and `kind` are the
    key's (kept as fields so `steerdsl compile --json` shows them)."""

    key: StageKey
    id: str  # "corpus:seeds", "measure:seeds", "space", "probe:steerbench",
    #          "generate:llama/direct", "score:llama/direct"
    kind: StageKind
    inputs: list[str]  # ids of upstream stages
    hash: str
    counts: dict[str, int] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_key(cls, data):
        if isinstance(data, dict) and isinstance(data.get("key"), BaseModel):
            data = {"id": data["key"].id, "kind": data["key"].kind, **data}
        return data

    @model_validator(mode="after")
    def _agrees_with_key(self) -> Stage:
        if (self.id, self.kind) != (self.key.id, self.key.kind):
            raise ValueError(f"stage {self.id!r} ({self.kind}) does not match its key "
                             f"{self.key.id!r} ({self.key.kind})")
        return self


class Plan(Frozen):
    format: int = PLAN_FORMAT
    spec_path: str
    spec_hash: str  # hash of the spec's semantics (not of its text: comments don't count)
    experiment: ExperimentPlan
    goals: list[GoalPlan]
    corpora: list[CorpusPlan]
    probes: list[ProbePlan]
    models: list[ModelPlan]
    prompts: list[PromptPlan]
    interventions: list[InterventionPlan]
    judges: list[JudgePlan] = []
    evaluate: EvaluatePlan | None = None
    stages: list[Stage]
    versions: dict[str, str]  # library versions the plan's hashes depend on
    totals: dict[str, int] = {}  # texts, measurements, probe_rows, requests, samples, ...

    def stage(self, key: StageKey | str) -> Stage:
        """The stage of a key (or of an id, as people write them)."""
        stage_id = key if isinstance(key, str) else key.id
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(stage_id)

    def stages_of(self, kind: str) -> list[Stage]:
        return [s for s in self.stages if s.kind == kind]

    def goal(self, name: str) -> GoalPlan:
        return next(g for g in self.goals if g.name == name)

    def model(self, name: str) -> ModelPlan:
        return next(m for m in self.models if m.name == name)

    def prompt(self, name: str) -> PromptPlan:
        return next(p for p in self.prompts if p.name == name)

    def intervention(self, name: str) -> InterventionPlan:
        return next(i for i in self.interventions if i.name == name)

    def probe(self, name: str) -> ProbePlan:
        return next(p for p in self.probes if p.name == name)

    def judge(self, name: str) -> JudgePlan:
        return next(j for j in self.judges if j.name == name)

    def corpus(self, name: str) -> CorpusPlan:
        return next(c for c in self.corpora if c.name == name)
