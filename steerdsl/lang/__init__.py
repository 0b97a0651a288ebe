"""The front end: grammar, syntax tree with spans, diagnostics, parser and checker.

`load_tree(path)` parses and checks a spec file; steerdsl.plan.build turns the result into a
Plan. Nothing here imports the runtime, DuckDB, spaCy or litellm.
"""

from __future__ import annotations

from pathlib import Path

from steerdsl.lang import syntax
from steerdsl.lang.diagnostics import Diagnostic, SourceText, SpecError


def load_tree(path: str | Path) -> tuple[syntax.SpecTree, SourceText, list[Diagnostic]]:
    """Parse and check; raise SpecError when there is any error. Returns the tree, the
    source (for rendering) and the warnings."""
    from steerdsl.lang.parser import read_source

    source, diags = read_source(path)
    if diags:
        raise SpecError(diags, source if source.text else None)
    tree, diags = check_source(source, Path(path).resolve().parent)
    if any(d.severity == "error" for d in diags):
        raise SpecError(diags, source)
    return tree, source, diags


def check_source(source: SourceText, spec_dir: Path) -> tuple[syntax.SpecTree, list[Diagnostic]]:
    """Parse and check a spec's text (a file's, or an editor's unsaved buffer): the tree and
    every diagnostic, errors and warnings alike. Relative paths in the spec resolve against
    `spec_dir`. Sets `source.secrets` (the spans of literal API keys, to mask)."""
    from steerdsl.lang.checker import check
    from steerdsl.lang.parser import parse_text

    tree, diags, secrets = parse_text(source.text, source.path)
    source.secrets = secrets
    diags += check(tree, spec_dir)
    return tree, diags
