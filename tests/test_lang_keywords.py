"""The keyword tables (steerdsl.lang.keywords) agree with the grammar and with the plan.

A keyword is written in three places: the grammar, its table (which the checker and the plan
builder both read) and the plan model whose field it fills. These tests tie them together.
"""

from __future__ import annotations

from collections import defaultdict
from typing import get_args

import pytest
from pydantic import BaseModel

from steerdsl.lang import keywords
from steerdsl.lang.grammar import keyword_of, parser
from steerdsl.lang.rules import Word
from steerdsl.plan import model as pm

# For each grammar rule with a table: the plan model its fields belong to, and its items that
# are not keyword settings (they have syntax nodes of their own).
PLAN_MODELS: dict[str, tuple[type[BaseModel], set[str]]] = {
    "experiment": (pm.ExperimentPlan, set()),
    "corpus": (pm.CorpusPlan, {"read"}),
    "read": (pm.CorpusSource, set()),
    "model": (pm.ModelPlan, {"api_key", "deployment"}),
    "deployment": (pm.DeploymentPlan, {"api_key"}),
    # a fine-tune has every field of a prompt intervention, and its training; `calibrate on
    # PROBE` names a probe (PromptIntervention.calibrate), resolved by the checker
    "intervention": (pm.FinetuneIntervention, {"prompt", "finetune", "on", "reward", "lora",
                                               "calibrate", "feedback"}),
    "judge": (pm.JudgePlan, {"model", "prompt"}),
    "reward": (pm.RewardPlan, set()),
    "lora": (pm.LoraPlan, set()),
}


def _rules() -> dict[str, list[list]]:
    out: dict[str, list[list]] = defaultdict(list)
    for r in parser().rules:
        out[r.origin.name].append(r.expansion)
    return out


def _items(block: str) -> list[str]:
    """The rules of the items a block lists (`{ ... }`, or a read's fields)."""
    rules = _rules()
    stars = {s.name for exp in rules[block] for s in exp if s.name.startswith(f"__{block}_star")}
    todo = [s.name for star in stars for exp in rules[star] for s in exp
            if not s.is_term and s.name not in stars]
    found = []
    while todo:
        name = todo.pop()
        if name.startswith("_"):  # inlined: each alternative is an item
            todo += [exp[0].name for exp in rules[name]]
        else:
            found.append(name)
    return found


def grammar_keywords(block: str) -> dict[str, set[str]]:
    """Keyword of each item of a block -> the keywords that may directly follow it."""
    rules = _rules()
    out: dict[str, set[str]] = {}
    for item in _items(block):
        for exp in rules[item]:
            key = keyword_of(exp[0].name)
            assert key is not None, f"an item of {block} ({item}) starts with no keyword"
            follow = out.setdefault(key, set())
            if len(exp) > 1 and exp[1].is_term and keyword_of(exp[1].name):
                follow.add(keyword_of(exp[1].name))
    return out


def _field_exists(model: type[BaseModel], path: str) -> bool:
    *parents, last = path.split(".")
    for part in parents:
        if part not in model.model_fields:
            return False
        annotation = model.model_fields[part].annotation
        nested = [a for a in (annotation, *get_args(annotation))
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            return False
        model = nested[0]
    return last in model.model_fields


def test_every_table_is_for_a_grammar_rule_with_settings():
    assert set(keywords.TABLES) == set(PLAN_MODELS)
    for block in keywords.TABLES:
        assert grammar_keywords(block), f"the grammar has no items in {block}"


@pytest.mark.parametrize("block", sorted(keywords.TABLES))
def test_the_grammar_and_the_table_have_the_same_keywords(block):
    _, not_settings = PLAN_MODELS[block]
    in_grammar = set(grammar_keywords(block))
    assert not_settings <= in_grammar
    assert set(keywords.TABLES[block]) == in_grammar - not_settings


@pytest.mark.parametrize("block", sorted(keywords.TABLES))
def test_word_values_are_the_grammars_words(block):
    follow = grammar_keywords(block)
    for key, kw in keywords.TABLES[block].items():
        if isinstance(kw.rule, Word):
            assert {w for w, _ in kw.rule.values} == follow[key], key


@pytest.mark.parametrize("block", sorted(keywords.TABLES))
def test_every_keyword_fills_a_field_of_the_plan(block):
    model, _ = PLAN_MODELS[block]
    for key, kw in keywords.TABLES[block].items():
        fields = kw.field if isinstance(kw.field, tuple) else (kw.field,)
        if kw.keyword_field is not None:
            fields += (kw.keyword_field,)
        for field in fields:
            assert _field_exists(model, field), f"{block} {key}: {model.__name__} has no {field}"


@pytest.mark.parametrize("block", sorted(keywords.TABLES))
def test_keywords_fill_distinct_fields(block):
    # Only alternatives (the providers litellm and local) may share their field.
    owners: dict[str, set[str]] = defaultdict(set)
    for key, kw in keywords.TABLES[block].items():
        for field in kw.field if isinstance(kw.field, tuple) else (kw.field,):
            owners[field].add(key)
    shared = {f: keys for f, keys in owners.items() if len(keys) > 1}
    assert shared == ({"model": set(keywords.PROVIDERS)} if block == "model" else {})
