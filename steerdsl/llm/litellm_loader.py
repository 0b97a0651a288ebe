"""Importing litellm, once, offline; and the name of steerdsl's own provider in it.

Both the client (completion) and the in-process providers (local, hf) need these: they live
here so that those modules import in one direction only (local, hf <- completion).
"""

from __future__ import annotations

import os
from typing import Any

LOCAL_PROVIDER = "steerdsl-local"  # litellm custom provider of the built-in local models
HF_PROVIDER = "steerdsl-hf"  # litellm custom provider of hf models (transformers in process)
_litellm: Any = None


def litellm_module():
    """litellm, imported on first use: it is heavy (about 2.5 s) and must not reach the
    internet for its price table, so the environment is set before the import."""
    global _litellm
    if _litellm is None:
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        os.environ["HF_HUB_OFFLINE"] = "1"
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        _litellm = litellm
    return _litellm
