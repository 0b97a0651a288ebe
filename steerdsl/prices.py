"""What a model's calls cost, known without importing litellm.

A price declared in the spec (`price in X out Y`, US dollars per million tokens) wins; the
built-in local model is free; any other model is priced by litellm from its offline price
table, the JSON file inside the litellm package that litellm itself reads (the runtime sets
LITELLM_LOCAL_MODEL_COST_MAP). `check` and `run` read that file directly to name the models
whose calls would count as $0 against a budget, so the front end never imports litellm.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

PRICE_TABLE = "model_prices_and_context_window_backup.json"
TOKENS_PER_PRICE = 1_000_000  # a declared price is per million tokens


def declared_cost(input_per_mtok: float, output_per_mtok: float, prompt_tokens: int | None,
                  completion_tokens: int | None) -> float | None:
    """USD of one request at a declared price; None when the provider reported no usage."""
    if prompt_tokens is None and completion_tokens is None:
        return None
    return ((prompt_tokens or 0) * input_per_mtok
            + (completion_tokens or 0) * output_per_mtok) / TOKENS_PER_PRICE


def price_known(provider: str, model_id: str, declared: bool) -> bool:
    """Whether a budget can count this model's calls (in-process models are free)."""
    return declared or provider in ("local", "hf") or litellm_knows_price(model_id)


def litellm_knows_price(model_id: str) -> bool:
    """Whether litellm's price table prices tokens for `model_id` ("openai/gpt-4.1-nano" is
    the table's "gpt-4.1-nano" with litellm_provider "openai")."""
    table = _price_table()
    entry = table.get(model_id)
    provider, _, bare = model_id.partition("/")
    if entry is None and bare:
        entry = table.get(bare)
        if not isinstance(entry, dict) or entry.get("litellm_provider") != provider:
            entry = None
    if not isinstance(entry, dict):
        return False
    return any(isinstance(v, (int, float)) for k, v in entry.items()
               if "cost_per" in k and "token" in k)


@lru_cache(maxsize=1)
def _price_table() -> dict:
    # find_spec locates the package without importing it (importing litellm takes 2.5 s).
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / PRICE_TABLE
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return table if isinstance(table, dict) else {}
