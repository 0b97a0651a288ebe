"""The front end's import direction: leaves <- lang <- plan. lang imports nothing of plan
(or of anything after it), plan nothing after itself; imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "steerdsl"
LEAVES = {"errors", "catalog", "texts", "words", "prices", "records", "outputs", "versions"}
ALLOWED = {"lang": LEAVES | {"lang"}, "plan": LEAVES | {"lang", "plan"},
           # the language server works on the syntax tree alone, as `check` does
           "lsp": LEAVES | {"lang", "lsp"}}


def imported(path: Path) -> set[str]:
    """The steerdsl packages or top-level modules a file imports, anywhere in it."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "steerdsl" else \
                [f"steerdsl.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out |= {n.split(".")[1] for n in names if n.startswith("steerdsl.")}
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_front_end_imports_point_back(package):
    wrong = {f"{p.relative_to(PACKAGE)}: {sorted(imported(p) - ALLOWED[package])}"
             for p in sorted((PACKAGE / package).rglob("*.py"))
             if imported(p) - ALLOWED[package]}
    assert not wrong
