"""One chat completion through litellm, with errors sorted into what the engine does next.

litellm itself is imported through steerdsl.llm.litellm_loader (once, offline, on first use).
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from typing import Any

from steerdsl.llm import hf, local, router
from steerdsl.llm.litellm_loader import HF_PROVIDER, LOCAL_PROVIDER, litellm_module
from steerdsl.plan.model import ModelPlan, SamplingParams
from steerdsl.prices import declared_cost

IN_PROCESS = ("local", "hf")  # providers that generate in this process (free, stoppable)
_cost_unknown: set[str] = set()  # model ids whose price litellm does not know


@dataclass
class Completion:
    contents: list[str | None]  # one per choice: the raw answer, None when it has none
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    server_s: float | None = None  # time the server says it spent on the request
    # One per choice, as litellm maps the provider's ('stop', 'length' = cut off, ...).
    finish_reasons: list[str | None] = field(default_factory=list)
    deployment: str | None = None  # the api_base of the deployment that answered, if any


class CallFailed(Exception):
    """A failed request, with its kind (what went wrong, and so what the engine does next):

    'connection' (refused, reset, DNS, TLS: the server is not reachable), 'timeout',
    'server' (5xx), 'malformed' (no choices, blank content), 'rate_limit' (429: pause
    everyone), 'retry' (anything else unexpected): retried;
    'context' (the prompt exceeds the model's context), 'fatal' (the request itself is wrong:
    4xx): not retried; 'auth' (the key is missing or refused: no request can succeed)."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None,
                 deployment: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        # The deployment that failed (a model with deployments): its 429 slows no other one.
        self.deployment = deployment

    @property
    def retryable(self) -> bool:
        return self.kind not in NOT_RETRYABLE


NOT_RETRYABLE = frozenset({"context", "fatal", "auth"})


def model_id(model: ModelPlan) -> str:
    if model.provider == "local":
        return f"{LOCAL_PROVIDER}/{model.model}"
    if model.provider == "hf":
        return f"{HF_PROVIDER}/{hf.model_key(model)}"
    return model.model


def sampling_params(model: ModelPlan, override: SamplingParams) -> dict[str, Any]:
    """The model's settings with the intervention's on top; unset ones are not sent."""
    params = {k: v for k, v in model.sampling.model_dump().items() if v is not None}
    params.update({k: v for k, v in override.model_dump().items() if v is not None})
    return params


def supports_param(model: ModelPlan, param: str) -> bool:
    """Whether litellm says the model's provider takes an OpenAI parameter ("n", "seed")."""
    if model.provider in IN_PROCESS:
        return True  # the in-process providers take n and seed
    litellm = litellm_module()
    try:
        mid, provider, _, _ = litellm.get_llm_provider(model.model, api_base=model.api_base)
        params = litellm.get_supported_openai_params(model=mid, custom_llm_provider=provider)
    except Exception:
        return False
    return bool(params) and param in params


def scrub(message: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


Messages = list[dict[str, str]]  # chat messages: {"role": ..., "content": ...}


def as_messages(prompt: str | Messages) -> Messages:
    """One user message, or a conversation as it is (closed-loop feedback)."""
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt


async def complete(model: ModelPlan, prompt: str | Messages, n: int, params: dict[str, Any],
                   api_key: str | None,
                   deployment_keys: dict[str, str | None] | None = None) -> Completion:
    """Send one request (one user message, or a whole conversation); raise CallFailed with a
    message free of the key. A model with deployments goes through its Router, with each
    deployment's key (by api_base)."""
    if model.deployments:
        return await _complete_routed(model, prompt, n, params, deployment_keys or {})
    litellm = litellm_module()
    if model.provider == "local":
        local.ensure_registered(model.model)
    elif model.provider == "hf":
        hf.ensure_registered(model)
    kwargs: dict[str, Any] = dict(params)
    if n > 1:
        kwargs["n"] = n
    if model.api_base:
        kwargs["api_base"] = model.api_base
        # A self-hosted server without auth: the OpenAI client insists on some key.
        kwargs["api_key"] = api_key if api_key is not None else "none"
    elif api_key is not None:
        kwargs["api_key"] = api_key
    mid = model_id(model)
    try:
        # Retries are ours (bounded by the model's `retries`): litellm and the OpenAI client
        # must not retry on their own.
        resp = await litellm.acompletion(
            model=mid, messages=as_messages(prompt), timeout=model.timeout,
            max_retries=0, num_retries=0, **kwargs)
    except CallFailed:
        raise
    except Exception as e:  # litellm maps every provider's errors onto its own types
        raise classify(e, api_key) from None
    return _completion(litellm, model, resp, mid)


async def _complete_routed(model: ModelPlan, prompt: str | Messages, n: int, params: dict[str, Any],
                           keys: dict[str, str | None]) -> Completion:
    litellm = litellm_module()
    kwargs: dict[str, Any] = dict(params)
    if n > 1:
        kwargs["n"] = n
    secrets = list(keys.values())
    try:
        resp = await router.router_for(model, keys).acompletion(
            model=router.ALIAS, messages=as_messages(prompt),
            timeout=model.timeout, max_retries=0, **kwargs)
    except Exception as e:
        failed = classify(e, *secrets)
        failed.deployment = router.failed_at(e)
        if failed.kind == "rate_limit" and failed.retry_after is None:
            failed.retry_after = router.cooldown_left(e)
        raise failed from None
    out = _completion(litellm, model, resp, model.model)
    out.deployment = router.answered_by(resp)
    return out


def _completion(litellm, model: ModelPlan, resp, mid: str) -> Completion:
    choices = getattr(resp, "choices", None) or []
    contents = [_raw_answer(getattr(c, "message", None)) for c in choices]
    usage = getattr(resp, "usage", None)
    return Completion(
        contents=contents,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        cost=_request_cost(litellm, model, resp, mid, usage),
        server_s=server_seconds(resp),
        finish_reasons=[_finish_reason(c) for c in choices],
    )


def server_seconds(resp) -> float | None:
    """The time the server says it spent computing the answer: llama.cpp's server sends
    `timings` (prompt_ms, predicted_ms), OpenAI an openai-processing-ms header (litellm keeps
    both). None when it says nothing: a non-streamed answer arrives whole, so the client
    alone cannot tell queueing from generating."""
    timings = getattr(resp, "timings", None)
    if isinstance(timings, dict):
        parts = [timings.get("prompt_ms"), timings.get("predicted_ms")]
        if all(isinstance(p, (int, float)) for p in parts):
            return sum(parts) / 1000.0
    headers = (getattr(resp, "_hidden_params", None) or {}).get("additional_headers") or {}
    try:
        return float(headers["llm_provider-openai-processing-ms"]) / 1000.0
    except (KeyError, TypeError, ValueError):
        return None


def _finish_reason(choice) -> str | None:
    reason = getattr(choice, "finish_reason", None)
    return reason if isinstance(reason, str) and reason else None


def _raw_answer(message) -> str | None:
    """The answer as the model wrote it, or None when it holds no answer (null or blank
    content: litellm raises nothing for those). litellm moves a leading <think> block into
    `reasoning_content`; it is put back so the stored raw answer is complete."""
    content = getattr(message, "content", None)
    if not isinstance(content, str) or not content.strip():
        return None
    reasoning = getattr(message, "reasoning_content", None)
    if isinstance(reasoning, str) and reasoning:
        return f"<think>{reasoning}</think>{content}"
    return content


def _request_cost(litellm, model: ModelPlan, resp, mid: str, usage) -> float | None:
    """A price declared in the spec wins; in-process models are free; else litellm's table."""
    if model.price is not None:
        return declared_cost(model.price.input_per_mtok, model.price.output_per_mtok,
                             getattr(usage, "prompt_tokens", None),
                             getattr(usage, "completion_tokens", None))
    if model.provider in IN_PROCESS:
        return 0.0
    return _cost(litellm, resp, mid)


def _cost(litellm, resp, mid: str) -> float | None:
    hidden = getattr(resp, "_hidden_params", None) or {}
    if "response_cost" in hidden:
        return hidden["response_cost"]
    if mid in _cost_unknown:
        return None
    try:
        return float(litellm.completion_cost(completion_response=resp, model=mid))
    except Exception:
        _cost_unknown.add(mid)  # asking again costs a millisecond per call for nothing
        return None


_FATAL = {400, 403, 404, 405, 413, 422}


def classify(e: Exception, api_key: str | None = None, *more_keys: str | None) -> CallFailed:
    """What went wrong, in a message free of every key given (a model's, or each of its
    deployments')."""
    status = getattr(e, "status_code", None)
    name = type(e).__name__
    message = f"{name}: {e}"
    # litellm reports an unreachable server as a 500 (InternalServerError: "Connection
    # error."): only the exception chain tells it from a server that answered 500, and its
    # last link says what happened (refused, DNS, TLS).
    cause = _transport_failure(e)
    root = _root_cause(e)
    said = f"{type(root).__name__}: {root}"
    if cause is not None and said not in message:  # httpx re-raises httpcore's, same words
        message += f" ({said})"
    message = scrub(message, api_key, *more_keys)
    if len(message) > 500:
        message = message[:500] + "..."
    if cause is not None:
        return CallFailed(cause, message)
    if status == 429 or name == "RateLimitError":
        return CallFailed("rate_limit", message, retry_after(e))
    if status == 401 or name == "AuthenticationError":
        return CallFailed("auth", message)
    if name == "ContextWindowExceededError":
        return CallFailed("context", message)
    if status in _FATAL or name in ("BadRequestError", "NotFoundError", "PermissionDeniedError",
                                    "ContentPolicyViolationError", "UnsupportedParamsError"):
        return CallFailed("fatal", message)
    if isinstance(status, int) and status >= 500:
        return CallFailed("server", message)
    return CallFailed("retry", message)


_TIMEOUTS = {"Timeout", "APITimeoutError", "TimeoutException", "ReadTimeout", "WriteTimeout",
             "PoolTimeout", "SocketTimeoutError", "TimeoutError"}
_CONNECTION = {"APIConnectionError", "ConnectError", "ConnectTimeout", "ReadError",
               "WriteError", "RemoteProtocolError", "ClientConnectorError",
               "ServerDisconnectedError", "ClientOSError", "gaierror", "SSLError",
               "SSLCertVerificationError"}


def _root_cause(e: BaseException) -> BaseException:
    seen = {id(e)}
    while (nxt := e.__cause__ or e.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        e = nxt
    return e


def _transport_failure(e: BaseException) -> str | None:
    """'connection' or 'timeout' when the request never got an answer from the server, from
    the exception and its causes (litellm wraps openai's, which wraps httpx's or aiohttp's)."""
    seen: set[int] = set()
    found = None
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        names = {cls.__name__ for cls in type(e).__mro__}
        if names & {"ConnectTimeout"} or isinstance(e, ConnectionError):
            return "connection"  # nothing listening (or nothing reachable) at the address
        if found is None and names & _TIMEOUTS:
            found = "timeout"
        elif found is None and names & _CONNECTION:
            found = "connection"
        e = e.__cause__ or e.__context__
    return found


def retry_after(e: Exception) -> float | None:
    """Seconds from Retry-After (seconds or an HTTP date) or retry-after-ms, if sent."""
    headers = getattr(e, "litellm_response_headers", None)
    if headers is None:
        headers = getattr(getattr(e, "response", None), "headers", None)
    if not headers:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return float(ms) / 1000.0
        value = headers.get("retry-after")
    except Exception:
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
