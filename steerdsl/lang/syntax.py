"""The syntax tree of a spec: one small class per grammar rule, each with its span.

The tree is what the user wrote, nothing resolved: names are names, numbers keep their source
text (so the checker can say "expected an integer, got 2.5"), defaults are not filled in. The
checker reads it; steerdsl.plan.build turns a checked tree into a Plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from steerdsl.lang.diagnostics import Span

# --- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    value: str
    span: Span


@dataclass(frozen=True)
class Num:
    value: float
    text: str  # as written, sign and % included
    percent: bool
    span: Span

    @property
    def is_int(self) -> bool:
        return not self.percent and self.value == int(self.value) and "." not in self.text \
            and "e" not in self.text.lower()


@dataclass(frozen=True)
class Range:
    lo: Num
    hi: Num
    span: Span


@dataclass(frozen=True)
class Str:
    value: str
    span: Span


@dataclass(frozen=True)
class Price:
    """`price in X out Y`: US dollars per million input and output tokens."""

    input: Num
    output: Num
    span: Span


Value = Union[Num, Range, Str, Name, Price, None]


@dataclass(frozen=True)
class Setting:
    """A keyword and its value: `seed 42`, `store "x"`, `dedupe`, `select nearest` (the
    value is the word), `keep words 1..9` (key "keep": the first keyword names it)."""

    key: str
    value: Value
    key_span: Span
    span: Span


# --- blocks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    name: Name
    settings: list[Setting]
    span: Span


@dataclass(frozen=True)
class Read:
    pattern: Str
    fields: list[Setting]  # "text" / "label" -> Str
    span: Span


@dataclass(frozen=True)
class Corpus:
    name: Name
    reads: list[Read]
    settings: list[Setting]  # keep words, dedupe, chunk
    span: Span


# goals: expressions


@dataclass(frozen=True)
class NumberExpr:
    value: float
    text: str
    span: Span


@dataclass(frozen=True)
class MeasureRef:
    name: Name
    span: Span


@dataclass(frozen=True)
class NegExpr:
    arg: "Expr"
    span: Span


@dataclass(frozen=True)
class BinExpr:
    op: str
    left: "Expr"
    right: "Expr"
    span: Span


Expr = Union[NumberExpr, MeasureRef, NegExpr, BinExpr]


@dataclass(frozen=True)
class ExprMeasure:
    expr: Expr
    span: Span


@dataclass(frozen=True)
class PythonMeasure:
    ref: Str
    span: Span
    timeout: Num | None = None  # seconds per text


@dataclass(frozen=True)
class JudgeMeasure:
    model: Name
    rubric: Str
    scale: Range
    span: Span


MeasureDef = Union[ExprMeasure, PythonMeasure, JudgeMeasure]


@dataclass(frozen=True)
class FixedNorm:
    range: Range
    span: Span


@dataclass(frozen=True)
class QuantileNorm:
    range: Range
    corpus: Name
    span: Span


Norm = Union[FixedNorm, QuantileNorm]


@dataclass(frozen=True)
class Goal:
    name: Name
    measure: MeasureDef
    normalize: Norm | None
    span: Span
    question: Str | None = None  # for steerdsl validate-goals


@dataclass(frozen=True)
class Goals:
    goals: list[Goal]
    span: Span


# probes


@dataclass(frozen=True)
class Sources:
    count: Num
    weighting: str | None  # "uniform" | "none" | None (not written)
    span: Span


@dataclass(frozen=True)
class Requests:
    count: Num
    span: Span


@dataclass(frozen=True)
class Active:
    value: Num | Range
    span: Span


@dataclass(frozen=True)
class Delta:
    range: Range
    deadzone: Num | None
    span: Span


@dataclass(frozen=True)
class ProbeGoals:
    names: list[Name]
    span: Span


@dataclass(frozen=True)
class ProbeExclude:
    """`exclude a, b`: probes whose source texts this one never draws."""

    names: list[Name]
    span: Span


ProbeItem = Union[Sources, Requests, Active, Delta, ProbeGoals, ProbeExclude]


@dataclass(frozen=True)
class Probe:
    name: Name
    corpus: Name
    items: list[ProbeItem]
    span: Span


@dataclass(frozen=True)
class CsvProbe:
    name: Name
    path: Str
    span: Span


# models


@dataclass(frozen=True)
class ApiKeyEnv:
    var: Name
    span: Span


@dataclass(frozen=True)
class ApiKeyLiteral:
    """`api_key "..."`: always an error. The key itself is deliberately not kept."""

    span: Span


@dataclass(frozen=True)
class Deployment:
    """`deployment { api_base "URL" api_key env VAR rpm N tpm N }` in a model block."""

    settings: list[Setting]  # api_base / rpm / tpm
    api_keys: list[ApiKeyEnv | ApiKeyLiteral]
    span: Span


@dataclass(frozen=True)
class Model:
    name: Name
    settings: list[Setting]  # litellm / local / api_base / temperature / ...
    api_keys: list[ApiKeyEnv | ApiKeyLiteral]
    span: Span
    deployments: list[Deployment] = field(default_factory=list)


# prompts


@dataclass(frozen=True)
class PhraseDef:
    goal: Name
    up: Str
    down: Str
    span: Span


@dataclass(frozen=True)
class ModifierDef:
    word: Name
    when: str  # "above" | "below"
    threshold: Num
    span: Span


@dataclass(frozen=True)
class Modifiers:
    items: list[ModifierDef]
    span: Span


@dataclass(frozen=True)
class Template:
    text: Str
    span: Span


@dataclass(frozen=True)
class Prompt:
    name: Name
    base: Name | None
    items: list[Template | PhraseDef | Modifiers]
    span: Span


# interventions and evaluate


@dataclass(frozen=True)
class UsePrompt:
    name: Name
    span: Span


@dataclass(frozen=True)
class RewardDef:
    """`reward METRIC [GOAL] [weight W] [good_enough T] [decile] [squared]`."""

    metric: Name
    goal: Name | None
    options: list[Setting]  # keyword settings (steerdsl.lang.keywords.REWARD)
    span: Span


@dataclass(frozen=True)
class LoraDef:
    """`lora r 16 alpha 32 dropout 0.05`: the adapter's shape."""

    settings: list[Setting]  # keyword settings (steerdsl.lang.keywords.LORA)
    span: Span


@dataclass(frozen=True)
class FeedbackDef:
    """`feedback N rounds [template "..."]`: closed-loop revisions of each answer."""

    rounds: Num
    template: Str | None
    key_span: Span  # the keyword `feedback`
    span: Span


@dataclass(frozen=True)
class Intervention:
    name: Name
    prompt: list[UsePrompt]
    # negative / no_explain / sample / select / sampling; a fine-tune's finetune / on (a Name
    # each) and its training settings
    settings: list[Setting]
    span: Span
    rewards: list[RewardDef] = field(default_factory=list)
    lora: list[LoraDef] = field(default_factory=list)
    feedback: list[FeedbackDef] = field(default_factory=list)


@dataclass(frozen=True)
class Judge:
    """`judge NAME { ... }`: an LLM judge of groundedness. Every item is a setting: `model`
    (a Name), `prompt` (the Name `groundedness`, or the Str of a custom template), and the
    keyword settings of steerdsl.lang.keywords.JUDGE."""

    name: Name
    settings: list[Setting]
    span: Span


@dataclass(frozen=True)
class NameList:
    key: str  # "probe" | "models" | "interventions" | "grounding"
    names: list[Name]
    key_span: Span
    span: Span


@dataclass(frozen=True)
class Evaluate:
    items: list[NameList]
    span: Span


Block = Union[Experiment, Corpus, Goals, Probe, CsvProbe, Model, Prompt, Intervention, Judge,
              Evaluate]


@dataclass(frozen=True)
class FailedBlock:
    """A top-level block with a syntax error: its kind and name (when readable), so the
    checker does not report every reference to it as undefined."""

    kind: str
    name: str | None
    span: Span


@dataclass
class SpecTree:
    """The root of a spec's syntax tree: the blocks that parsed, and those that did not."""

    path: str  # as given, for messages
    blocks: list[Block] = field(default_factory=list)
    failed: list[FailedBlock] = field(default_factory=list)

    def of(self, kind: type) -> list:
        return [b for b in self.blocks if isinstance(b, kind)]
