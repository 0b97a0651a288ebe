"""Content hashes for plans and the measurement cache.

A hash is the sha256 of canonical JSON (sorted keys, no whitespace, floats as repr), cut to 16
hex digits: enough to never collide within one store, short enough to read in a table.
Never Python's hash(): it is salted per process.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from steerdsl import catalog

HASH_CHARS = 16


def canonical_json(obj: Any) -> str:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def stable_hash(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:HASH_CHARS]


def derive_seed(seed: int, *names: str) -> int:
    """A sub-seed for one named use of randomness (a probe, an intervention's intent order)."""
    digest = hashlib.sha256(canonical_json([seed, *names]).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # fits a signed 64-bit integer


def builtin_measure_id(name: str) -> tuple[str, dict[str, str]]:
    """Cache identity of a built-in measure: its name + versions of the libraries it uses."""
    versions = catalog.measure_versions(name)
    return stable_hash({"measure": {"kind": "builtin", "name": name}, "versions": versions}), versions
