"""API keys: read from the environment variable a model names, at call time only, and checked
before any request (a malformed key fails every request with an unrelated-looking error)."""

from __future__ import annotations

import os

from steerdsl.errors import RunError
from steerdsl.plan.model import ModelPlan


def api_key_for(model: ModelPlan) -> str | None:
    """Read at call time only; never stored, never printed."""
    if not model.api_key_env:
        return None
    key = os.environ.get(model.api_key_env)
    if not key:
        raise RunError(f"model {model.name}: the environment variable {model.api_key_env} "
                       "(its API key) is not set")
    bad = _malformed(key)
    if bad:
        # Sent as it is, such a key fails every request with an unrelated-looking error.
        raise RunError(f"model {model.name}: the environment variable {model.api_key_env} "
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
