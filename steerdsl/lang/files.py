"""Files a spec refers to: paths resolved against the spec's folder, globs, and Python
modules of `python "module:function"` goals (found without importing them). Their content
hashes are the plan's business (steerdsl.plan.hashing.file_ref)."""

from __future__ import annotations

import glob
import importlib.machinery
import os
import sys
from pathlib import Path

FORMATS = ("csv", "jsonl", "json", "parquet", "txt")
_GLOB_CHARS = set("*?[")


def resolve(spec_dir: Path, path: str) -> Path:
    # normpath, not resolve(): "../runs/x.duckdb" reads better without "specs/.." in it, and
    # symlinks are the user's business. "~/x" is the home folder, as in a shell.
    p = Path(path).expanduser()
    return Path(os.path.normpath(p if p.is_absolute() else spec_dir / p))


def is_file(path: Path) -> bool:
    """Path.is_file that says False for names the OS cannot hold (NUL bytes, too long)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def hf_folder(spec_dir: Path, ref: str) -> Path | None:
    """The checkpoint folder an `hf "REF"` model names, or None for a Hugging Face id: a path
    starts with ".", "/" or "~", or names an existing folder next to the spec."""
    if ref.startswith((".", "/", "~")):
        return resolve(spec_dir, ref)
    near = resolve(spec_dir, ref)
    return near if is_dir(near) else None


def is_dir(path: Path) -> bool:
    """Path.is_dir that says False for names the OS cannot hold (NUL bytes, too long)."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def is_glob(pattern: str) -> bool:
    return any(c in _GLOB_CHARS for c in pattern)


def format_of(pattern: str) -> str | None:
    """The reader for a path or glob, from its extension (.ndjson counts as jsonl)."""
    suffix = Path(pattern).suffix.lower().lstrip(".")
    if suffix == "ndjson":
        return "jsonl"
    return suffix if suffix in FORMATS else None


def expand(spec_dir: Path, pattern: str) -> list[Path]:
    """Files a path or glob names, sorted (the reading order). Missing -> []."""
    full = resolve(spec_dir, pattern)
    if not is_glob(pattern):
        return [full] if is_file(full) else []
    try:
        found = glob.glob(str(full), recursive=True)
    except (OSError, ValueError):
        return []
    return sorted(Path(p) for p in found if is_file(Path(p)))


def split_python_ref(ref: str) -> tuple[str, str] | None:
    """'pkg.mod:function' -> ('pkg.mod', 'function'), or None when malformed."""
    module, sep, function = ref.partition(":")
    parts = module.split(".")
    if not sep or not all(p.isidentifier() for p in parts) or not function.isidentifier():
        return None
    return module, function


def find_module_file(module: str, spec_dir: Path) -> Path | None:
    """The file of `module`, looked up in the spec's folder first, then on sys.path, without
    executing it or its parent packages (importlib.util.find_spec would import parents).
    None when not found; a module without a file (built-in) gives None too."""
    search: list[str] | None = [str(spec_dir), *sys.path]
    spec = None
    parts = module.split(".")
    for i in range(len(parts)):
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), search)
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or [])
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    origin = Path(spec.origin)
    return origin if origin.is_file() else None


def module_exists(module: str, spec_dir: Path) -> bool:
    if find_module_file(module, spec_dir) is not None:
        return True
    top = module.split(".")[0]
    return top in sys.builtin_module_names
