"""Writing a training set to a folder (`steerdsl export-train`): train.parquet and
train.jsonl (the TrainingSet's columns, one record per probe row) and meta.json (what it was
made from). Both data files load with `datasets.load_dataset("parquet" | "json", ...)`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from steerdsl.errors import RunError, UsageError
from steerdsl.outputs import OutputKind, write_output
from steerdsl.train.dataset import TrainingSet

FILES = ("train.parquet", "train.jsonl", "meta.json")
META_KIND = "steerdsl training set"


def _is_own(path: Path) -> bool:
    """A file this export wrote (its folder has our meta.json)."""
    try:
        meta = json.loads((path.parent / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("kind") == META_KIND


EXPORT = OutputKind("the training set", "a training set steerdsl exported", _is_own)


def check_folder(folder: str | Path, *, inputs: list[str | Path], force: bool) -> Path:
    """The folder to write, or an error saying why not: never over an input, an existing
    file, or a folder holding other files (unless --force)."""
    from steerdsl.outputs import check_output

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunError(f"cannot write the training set to {folder}: it is a file; give a folder")
    if folder.is_dir():
        others = [p.name for p in folder.iterdir() if p.name not in FILES]
        if not force and (others or any((folder / f).exists() and not _is_own(folder / f)
                                        for f in FILES)):
            raise UsageError(f"{folder} holds files that are not a training set steerdsl "
                             "exported: choose another -o, or add --force to write into it")
    for name in FILES:
        check_output(folder / name, EXPORT, inputs=inputs, force=True)
    return folder


def write_training_set(folder: str | Path, data: TrainingSet, meta: dict[str, Any]) -> None:
    """Write the three files (each through a temporary file that then replaces it; meta.json
    last, so a folder with a meta.json holds a whole export)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.json").unlink(missing_ok=True)
    table = pa.table(data.columns)
    write_output(folder / "train.parquet", EXPORT, lambda p: pq.write_table(table, p))

    def jsonl(path: Path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for row in data.rows():
                f.write(json.dumps(row, ensure_ascii=False) + "\n")

    write_output(folder / "train.jsonl", EXPORT, jsonl)
    full = {"kind": META_KIND, **meta, "rows": len(data), "goals": data.goals,
            "columns": list(data.columns)}
    write_output(folder / "meta.json", EXPORT, lambda p: p.write_text(
        json.dumps(full, indent=2) + "\n", encoding="utf-8"))
