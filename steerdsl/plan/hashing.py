"""Content hashes for plans and the measurement cache, and the versions that go into them.

A hash is the sha256 of canonical JSON (sorted keys, no whitespace, floats as repr), cut to 16
hex digits: enough to never collide within one store, short enough to read in a table.
Never Python's hash(): it is salted per process.
"""

from __future__ import annotations

import hashlib
import json
import os
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


# Checkpoint files up to this size count by content; larger ones (the weights) by name and
# size, so compiling never reads gigabytes.
HF_HASHED_BYTES = 10 * 2**20


def local_model_versions(m: ModelPlan) -> dict[str, str]:
    """A local model's answers depend on its weights' package and the inference library; an
    hf model's on its checkpoint (a folder's content, or the cached snapshot of a hub id)."""
    if m.provider == "hf":
        return {f"hf:{hf_label(m.model)}": hf_checkpoint_identity(m.model)}
    if m.provider != "local":
        return {}
    dist, _ = catalog.LOCAL_MODELS[m.model]
    return {dist: catalog.distribution_version(dist),
            "llama-cpp-python": catalog.distribution_version("llama-cpp-python")}


def hf_label(model: str) -> str:
    """A hub id as it is; a folder (absolute in plans) by its name, so no hash holds a path."""
    return Path(model).name if Path(model).is_absolute() else model


def hf_checkpoint_identity(model: str) -> str:
    """A folder's content: sha256 of its files under HF_HASHED_BYTES, name and size of the
    larger ones ("missing" when it is not there). A hub id: the commit of its snapshot in the
    local Hugging Face cache ("not cached" when absent), read without importing the hub
    library."""
    path = Path(model)
    if not path.is_absolute():
        return _hub_snapshot(model)
    if not path.is_dir():
        return "missing"
    listing = []
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        st = f.stat()
        rel = f.relative_to(path).as_posix()
        content = _sha256(str(f), st.st_size, st.st_mtime_ns) if st.st_size < HF_HASHED_BYTES \
            else f"size {st.st_size}"
        listing.append([rel, content])
    return stable_hash(listing)


def _hub_snapshot(model_id: str) -> str:
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    cache = Path(os.environ.get("HF_HUB_CACHE") or os.path.join(home, "hub"))
    ref = cache / f"models--{model_id.replace('/', '--')}" / "refs" / "main"
    try:
        return ref.read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return "not cached"


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
