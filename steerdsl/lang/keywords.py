"""The keyword tables: one per block of keyword settings (experiment, corpus, read, model,
intervention, judge, a fine-tune's reward and lora), each keyword with its rule
(steerdsl.lang.rules) and the plan field it fills.

The grammar decides which keywords a block has (tests/test_lang_keywords.py holds the tables
to it); the checker checks each written value against its rule; the plan builder fills the
plan's fields through the same tables (plan_fields). Plan fields are named here, not
imported: lang comes before plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from steerdsl import catalog
from steerdsl.lang import syntax
from steerdsl.lang.rules import (
    COUNT,
    MAX_SEED,
    Flag,
    Number,
    Prices,
    RayAddress,
    Rule,
    Text,
    Word,
    WordRange,
)


@dataclass(frozen=True)
class Keyword:
    """One keyword setting: the values it takes and the plan field it fills."""

    rule: Rule
    # A field of the block's plan model; "sampling.temperature" is a field of a nested model.
    # Two fields for a pair of values (keep words LO..HI, price in X out Y).
    field: str | tuple[str, str]
    keyword_field: str | None = None  # a field that takes the keyword itself (the provider)
    default: Any = None  # when not written and the plan model has no default of its own


DEFAULT_SEED = 0

SAMPLING: dict[str, Keyword] = {
    "temperature": Keyword(Number(0, 2), "sampling.temperature"),
    "top_p": Keyword(Number(0, 1), "sampling.top_p"),
    "min_p": Keyword(Number(0, 1), "sampling.min_p"),
    "max_tokens": Keyword(COUNT, "sampling.max_tokens"),
}
TRUNCATED = Keyword(Word.of("score", "drop"), "truncated")

EXPERIMENT: dict[str, Keyword] = {
    "seed": Keyword(Number(0, MAX_SEED, integer=True), "seed", default=DEFAULT_SEED),
    "store": Keyword(Text(), "store"),  # default runs/NAME.duckdb, from the experiment's name
    "budget": Keyword(Number(0, None, lo_open=True), "budget_usd"),
    # where built-in measures are computed; changes no value, so never part of a hash
    "executor": Keyword(RayAddress(), "executor.address"),
}

CORPUS: dict[str, Keyword] = {
    "keep": Keyword(WordRange(), ("min_words", "max_words")),
    "dedupe": Keyword(Flag(), "dedupe"),
    "chunk": Keyword(COUNT, "chunk_sentences"),
}

READ: dict[str, Keyword] = {
    "text": Keyword(Text(), "text_field", default="text"),
    "label": Keyword(Text(), "label_field"),
}

MODEL: dict[str, Keyword] = {
    "litellm": Keyword(Text(), "model", keyword_field="provider"),
    "local": Keyword(Text(tuple(catalog.LOCAL_MODELS)), "model", keyword_field="provider"),
    # a Hugging Face id (found in the local cache) or a checkpoint folder; the plan builder
    # resolves a folder against the spec's
    "hf": Keyword(Text(), "model", keyword_field="provider"),
    "api_base": Keyword(Text(), "api_base"),
    **SAMPLING,
    "concurrency": Keyword(COUNT, "concurrency"),
    "rpm": Keyword(COUNT, "rpm"),
    "tpm": Keyword(COUNT, "tpm"),
    "timeout": Keyword(Number(0, None, lo_open=True), "timeout"),
    "retries": Keyword(Number(0, 100, integer=True), "retries"),
    "price": Keyword(Prices(), ("price.input_per_mtok", "price.output_per_mtok")),
    "truncated": TRUNCATED,
    "route": Keyword(Word((("least_busy", "least-busy"), ("shuffle", "simple-shuffle"))),
                     "route"),
    "batch": Keyword(Word((("on", True), ("off", False))), "batch"),  # provider batch jobs
}
PROVIDERS = tuple(k for k, kw in MODEL.items() if kw.keyword_field == "provider")

# One deployment of a model (DeploymentPlan); its key is `api_key env VAR`, as a model's.
DEPLOYMENT: dict[str, Keyword] = {
    "api_base": Keyword(Text(), "api_base"),
    "rpm": Keyword(COUNT, "rpm"),
    "tpm": Keyword(COUNT, "tpm"),
}

INTERVENTION: dict[str, Keyword] = {
    "negative": Keyword(Flag(), "negative"),
    "no_explain": Keyword(Word((("on", True), ("off", False))), "no_explain"),
    "sample": Keyword(COUNT, "samples"),
    "select": Keyword(Word.of("nearest", "first"), "select"),
    **SAMPLING,
    "truncated": TRUNCATED,
}

# A fine-tune's training settings (GrpoPlan, under the intervention's `train`). `finetune` and
# `on` name something (a method, a probe): the checker resolves them.
TRAINING: dict[str, Keyword] = {
    "steps": Keyword(COUNT, "train.steps"),
    # defaults here (as GrpoPlan's): the checker fits the batch to the generations
    "generations": Keyword(Number(2, 10**9, integer=True), "train.generations", default=8),
    "batch": Keyword(COUNT, "train.batch", default=8),
    "learning_rate": Keyword(Number(0, None, lo_open=True), "train.learning_rate"),
    "beta": Keyword(Number(0), "train.beta"),
    "max_completion": Keyword(COUNT, "train.max_completion"),
    "train_temperature": Keyword(Number(0, None, lo_open=True), "train.temperature"),
    "save_every": Keyword(COUNT, "train.save_every"),
    "serve": Keyword(Text(), "serve"),
}
FINETUNE_REFERENCES = ("finetune", "on")
# `calibrate on PROBE` (a prompt intervention's calibrated requests) names a probe: the checker
# resolves it; the plan's field is PromptIntervention.calibrate.
CALIBRATE = "calibrate"
FINETUNE_METHODS = ("grpo",)

REWARD: dict[str, Keyword] = {
    "weight": Keyword(Number(0, None, lo_open=True), "weight"),
    "good_enough": Keyword(Number(0, 1), "good_enough"),
    "decile": Keyword(Flag(), "decile"),
    "squared": Keyword(Flag(), "squared"),
}

LORA: dict[str, Keyword] = {
    "r": Keyword(COUNT, "r"),
    "alpha": Keyword(Number(0, None, lo_open=True), "alpha"),
    "dropout": Keyword(Number(0, 1, hi_open=True), "dropout"),
}

JUDGE: dict[str, Keyword] = {
    "order": Keyword(Word.of("random", "both"), "order"),
    "spot_check": Keyword(Number(0, 10**9, integer=True), "spot_check"),
    "judge": Keyword(Word.of("selected", "all"), "candidates"),
}
# The judge's settings that name something (resolved by the checker, not by a rule).
JUDGE_REFERENCES = ("model", "prompt")

# The tables by the grammar rule whose items they are.
TABLES: dict[str, dict[str, Keyword]] = {
    "experiment": EXPERIMENT, "corpus": CORPUS, "read": READ, "model": MODEL,
    "intervention": {**INTERVENTION, **TRAINING}, "judge": JUDGE, "reward": REWARD,
    "lora": LORA,
    "deployment": DEPLOYMENT,
}


def plan_fields(settings: list[syntax.Setting], table: dict[str, Keyword]) -> dict[str, Any]:
    """The plan fields a checked block's settings fill, nested at dots: {"seed": 42,
    "sampling": {"temperature": 0.0}}. A keyword not written gives its table default, if
    any, else nothing (the plan model's own default holds)."""
    out: dict[str, Any] = {}
    for key, kw in table.items():
        s = first(settings, key)
        if s is None:
            if kw.default is not None:
                _put(out, kw.field, kw.default)
            continue
        _put(out, kw.field, kw.rule.plan_value(s.value))
        if kw.keyword_field is not None:
            _put(out, kw.keyword_field, key)
    return out


def _put(out: dict[str, Any], field: str | tuple[str, str], value: Any) -> None:
    if isinstance(field, tuple):
        for f, v in zip(field, value):
            _put(out, f, v)
        return
    *parents, last = field.split(".")
    for p in parents:
        out = out.setdefault(p, {})
    out[last] = value


def first(settings: list[syntax.Setting], key: str) -> syntax.Setting | None:
    """The setting of `key`; the first counts (the checker reports a second)."""
    return next((s for s in settings if s.key == key), None)
