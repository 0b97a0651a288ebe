"""API keys: read from the environment variable a model names, at call time only, and checked
before any request (a malformed key fails every request with an unrelated-looking error)."""

from __future__ import annotations

import os

from steerdsl.errors import RunError
from steerdsl.plan.model import ModelPlan


def api_key_for(model: ModelPlan) -> str | None:
    """Read at call time only; never stored, never printed. A model with deployments has no
    key of its own: its deployments' keys are checked here too (deployment_keys)."""
    deployment_keys(model)
    return _read(model.name, model.api_key_env)


def deployment_keys(model: ModelPlan) -> dict[str, str | None]:
    """Each deployment's key by its api_base (None: the deployment names no variable)."""
    return {d.api_base: _read(model.name, d.api_key_env) for d in model.deployments}


def _read(model: str, var: str | None) -> str | None:
    if not var:
        return None
    key = os.environ.get(var)
    if not key:
        raise RunError(f"model {model}: the environment variable {var} "
                       "(its API key) is not set")
    bad = _malformed(key)
    if bad:
        # Sent as it is, such a key fails every request with an unrelated-looking error.
        raise RunError(f"model {model}: the environment variable {var} "
                       f"(its API key) is malformed: it holds {bad}; an API key is printable "
                       "ASCII without spaces or line breaks (check what was copied with it)")
    return key


def _malformed(key: str) -> str:
    """What is wrong with a key's characters ('' when nothing), without showing the key."""
    names = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", " ": "a space"}
    for i, ch in enumerate(key, 1):
        if ch in names:
            return f"{names[ch]} at character {i} of {len(key)}"
        if not (" " < ch <= "~"):
            what = "a non-ASCII character" if ord(ch) > 127 else "a control character"
            return f"{what} at character {i} of {len(key)}"
    return ""
