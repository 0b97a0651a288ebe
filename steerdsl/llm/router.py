"""Models with deployments: one litellm Router per model spreads the requests over its servers.

Our own retries stay in charge (Caller): the Router never retries (num_retries=0); it puts a
deployment that failed or rate-limited in cooldown, so the retry goes to another one. The
answer says which deployment answered (its api_base, the deployment's id in the Router).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from steerdsl.llm.litellm_loader import litellm_module
from steerdsl.plan.model import ModelPlan

ALIAS = "steerdsl"  # the one model name every deployment of a Router answers to
# A deployment that fails once is skipped for COOLDOWN_S seconds (litellm cools a 429 down at
# once anyway); when every deployment is cooling down, the Router says so (a 429 of its own).
ALLOWED_FAILS = 0
COOLDOWN_S = 10.0

# Routers hold HTTP clients bound to the event loop that first used them: one set per loop.
_routers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, Any]] = (
    weakref.WeakKeyDictionary())


def router_for(model: ModelPlan, keys: dict[str, str | None]) -> Any:
    """The Router of `model` (with the deployments' keys, by api_base), made once per loop."""
    config = (model.model, model.route, model.timeout,
              tuple((d.api_base, d.rpm, d.tpm, keys.get(d.api_base)) for d in model.deployments))
    per_loop = _routers.setdefault(asyncio.get_running_loop(), {})
    if config not in per_loop:
        litellm = litellm_module()
        # Its warnings (a failed deployment, bookkeeping cancelled when a stage's loop ends)
        # would land between the run's progress lines; each call's outcome is in `calls`.
        logging.getLogger("LiteLLM Router").setLevel(logging.ERROR)
        per_loop[config] = litellm.Router(
            model_list=[_deployment(model, d.api_base, d.rpm, d.tpm, keys.get(d.api_base))
                        for d in model.deployments],
            routing_strategy=model.route, num_retries=0, allowed_fails=ALLOWED_FAILS,
            cooldown_time=COOLDOWN_S, retry_after=0)
    return per_loop[config]


def _deployment(model: ModelPlan, api_base: str, rpm: int | None, tpm: int | None,
                key: str | None) -> dict[str, Any]:
    # A self-hosted server without auth: the OpenAI client insists on some key.
    params: dict[str, Any] = {"model": model.model, "api_base": api_base,
                              "api_key": key if key is not None else "none"}
    if rpm is not None:
        params["rpm"] = rpm
    if tpm is not None:
        params["tpm"] = tpm
    # The id is how the answer tells which deployment answered.
    return {"model_name": ALIAS, "litellm_params": params, "model_info": {"id": api_base}}


def answered_by(resp: Any) -> str | None:
    """The api_base of the deployment that answered."""
    hidden = getattr(resp, "_hidden_params", None) or {}
    return hidden.get("model_id") or hidden.get("api_base")


def failed_at(e: Exception) -> str | None:
    """The api_base of the deployment that failed; None when the Router itself refused
    (every deployment cooling down: a 429 with the cooldown's seconds, see cooldown_left)."""
    failed = getattr(e, "failed_deployment_id", None)
    return failed if isinstance(failed, str) and failed else None


def cooldown_left(e: Exception) -> float | None:
    """Seconds until a deployment leaves cooldown, when every one is cooling down."""
    if not getattr(e, "all_deployments_in_cooldown", False):
        return None
    seconds = getattr(e, "cooldown_time", None)
    return float(seconds) if isinstance(seconds, (int, float)) else None
