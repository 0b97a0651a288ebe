"""Content hashes for plans and the measurement cache, and the versions that go into them.

A hash is the sha256 of canonical JSON (sorted keys, no whitespace, floats as repr), cut to 16
hex digits: enough to never collide within one store, short enough to read in a table.
Never Python's hash(): it is salted per process.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from steerdsl import catalog
from steerdsl.plan.model import FileRef, ModelPlan

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


def local_model_versions(m: ModelPlan) -> dict[str, str]:
    """A local model's answers depend on its weights' package and the inference library."""
    if m.provider != "local":
        return {}
    dist, _ = catalog.LOCAL_MODELS[m.model]
    return {dist: catalog.distribution_version(dist),
            "llama-cpp-python": catalog.distribution_version("llama-cpp-python")}


def file_ref(path: Path) -> FileRef:
    st = path.stat()
    return FileRef(path=str(path), sha256=_sha256(str(path), st.st_size, st.st_mtime_ns),
                   size=st.st_size)


@lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
