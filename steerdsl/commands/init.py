"""`steerdsl init [DIR] [--name NAME] [--force]`: write a small runnable project.

DIR/NAME.steer (every block commented, runs offline on the built-in local model),
DIR/corpus.jsonl (36 short texts in six registers), DIR/README.md (what to run next) and
DIR/runs/.gitignore (the store's folder, kept out of git). Nothing is overwritten without
--force.
"""

from __future__ import annotations

import argparse
import re
from importlib import resources
from pathlib import Path

_TEMPLATE_NAME = "starter"  # the experiment's name in steerdsl/starter/starter.steer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR",
                        help="the project's folder (made if missing; default: here)")
    parser.add_argument("--name", help="the spec's and the experiment's name (default: the "
                        "folder's name)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args: argparse.Namespace) -> int:
    from steerdsl.errors import UsageError

    folder = Path(args.dir)
    name = args.name if args.name is not None else _name_of(folder)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(f"--name {name!r}: a name is letters, digits and _, not starting with "
                         "a digit")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder")
    files = project_files(name)
    existing = [folder / f for f in files if (folder / f).exists()]
    if existing and not args.force:
        shown = ", ".join(str(p) for p in existing)
        raise UsageError(f"{shown} already exist{'s' if len(existing) == 1 else ''}; nothing "
                         "was written (--force overwrites)")
    for file, text in files.items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(str(folder / f) for f in files)}\n")
    print(next_steps(folder, name))
    return 0


def project_files(name: str) -> dict[str, str]:
    """File name -> content of a new project called `name`."""
    starter = resources.files("steerdsl") / "starter"
    spec = re.sub(rf"\b{_TEMPLATE_NAME}\b", name,
                  (starter / f"{_TEMPLATE_NAME}.steer").read_text(encoding="utf-8"))
    return {
        f"{name}.steer": spec,
        "corpus.jsonl": (starter / "corpus.jsonl").read_text(encoding="utf-8"),
        "README.md": _readme(name),
        # the store's folder ignores itself: a project's own .gitignore is never touched
        "runs/.gitignore": "# the store and the run's files (steerdsl run writes them here)\n*\n",
    }


def _name_of(folder: Path) -> str:
    """An identifier from the folder's name ("my-eval" -> "my_eval"), or "starter"."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", folder.resolve().name).strip("_")
    if not name or name[0].isdigit():
        return _TEMPLATE_NAME
    return name


def _commands(name: str) -> str:
    lines = [(f"steerdsl check {name}.steer", "every error with its place"),
             (f"steerdsl run {name}.steer", "runs offline on the built-in local model"),
             (f'steerdsl query {name}.steer "SELECT * FROM summary"', ""),
             (f"steerdsl report {name}.steer", "an HTML report next to the store")]
    width = max(len(c) for c, note in lines if note)
    return "".join(f"{c.ljust(width)}  # {note}\n" if note else f"{c}\n" for c, note in lines)


def next_steps(folder: Path, name: str) -> str:
    here = folder.resolve() == Path.cwd().resolve()
    cd = "" if here else f"cd {folder}\n"
    return ("Next:\n\n" + "".join(f"  {line}\n" for line in (cd + _commands(name)).splitlines())
            + f"\nThen edit {name}.steer (every block is explained in it) and "
            f"`steerdsl fmt {name}.steer` to lay it out.")


def _readme(name: str) -> str:
    return f"""# {name}

A steerability experiment written by `steerdsl init`: `{name}.steer` asks a model to rewrite
short texts (`corpus.jsonl`) along a few measured goals and stores how far each answer moved
where it was asked to. It runs offline on the built-in local model (SmolLM2-135M).

```sh
{_commands(name)}```

Then edit `{name}.steer`: every block is explained in it. `steerdsl fmt {name}.steer` lays it
out; `steerdsl fmt --check .` tells whether every spec here is laid out (for CI). Results go
to `runs/` (a DuckDB store; a rerun continues where the last one stopped).
"""
