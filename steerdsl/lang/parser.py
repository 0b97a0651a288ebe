"""Parsing: spec text -> syntax tree (steerdsl.lang.syntax) plus syntax diagnostics.

Every top-level block is parsed on its own (steerdsl.lang.blocks), so each broken block gives
its own error and the intact ones still reach the checker. The lark tree becomes the syntax
tree in steerdsl.lang.transform; syntax errors are worded in steerdsl.lang.syntax_errors; a
broken goals block is salvaged goal by goal in steerdsl.lang.salvage.
"""

from __future__ import annotations

import re
from pathlib import Path

from lark.exceptions import UnexpectedInput

from steerdsl.lang import syntax
from steerdsl.lang.blocks import split_blocks
from steerdsl.lang.diagnostics import Diagnostic, SourceText, Span, place
from steerdsl.lang.grammar import parser
from steerdsl.lang.salvage import salvage_goals
from steerdsl.lang.syntax_errors import keyword_as_name, syntax_diagnostic
from steerdsl.lang.transform import build_blocks


def read_source(path: str | Path, display: str | None = None) -> tuple[SourceText, list[Diagnostic]]:
    """The spec's text; an unreadable or non-UTF-8 file is a diagnostic, not a traceback."""
    shown = display if display is not None else str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        return SourceText(shown, ""), [
            Diagnostic("error", f"cannot read the spec: {reason}", Span(shown, 1, 1, 1, 1))]
    if b"\x00" in data[:8192]:
        # A binary file (often a DuckDB store given where the spec goes): its "line" would be
        # kilobytes of escapes, so nothing of it is shown.
        what = "a DuckDB file (a store?)" if data[8:12] == b"DUCK" else "a binary file"
        return SourceText(shown, ""), [Diagnostic(
            "error", f"this is not a spec: it is {what}; give the .steer file", Span(
                shown, 1, 1, 1, 1))]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[: e.start].decode("utf-8", "replace")
        line, col = place(good, len(good))
        text = data.decode("utf-8", "replace")
        return SourceText(shown, text), [Diagnostic(
            "error", f"the spec is not valid UTF-8 (byte 0x{data[e.start]:02x})",
            Span(shown, line, col, line, col + 1))]
    return SourceText(shown, text.removeprefix("\ufeff")), []


def parse_text(text: str, path: str) -> tuple[syntax.SpecTree, list[Diagnostic], list[Span]]:
    """Returns the tree, syntax diagnostics, and the spans of literal API keys (to mask)."""
    spec = syntax.SpecTree(path=path)
    diags: list[Diagnostic] = []
    secrets: list[Span] = []
    for chunk in split_blocks(text):
        body = text[chunk.start:chunk.end]
        # Pad so lark's line/column numbers are the file's own.
        padded = "\n" * (chunk.line - 1) + " " * (chunk.col - 1) + body
        try:
            tree = parser().parse(padded, on_error=keyword_as_name)
        except UnexpectedInput as e:
            secrets += _find_literal_keys(padded, path)
            salvaged = salvage_goals(text, chunk, path) if chunk.kind == "goals" else None
            if salvaged is not None:
                block, goal_diags, broken = salvaged
                spec.blocks.append(block)
                diags += goal_diags
                spec.failed += broken
                continue
            diags.append(syntax_diagnostic(e, chunk, path, padded))
            spec.failed.append(syntax.FailedBlock(chunk.kind or "?", chunk.name,
                                               Span(path, chunk.line, chunk.col, chunk.line,
                                                    chunk.col + len(chunk.kind or "?"))))
            continue
        blocks, block_diags, block_secrets = build_blocks(tree, path)
        if blocks is None:
            spec.failed.append(syntax.FailedBlock(chunk.kind or "?", chunk.name,
                                               block_diags[0].span))
        else:
            spec.blocks += blocks
        diags += block_diags
        secrets += block_secrets
    return spec, diags, secrets


def _find_literal_keys(text: str, path: str) -> list[Span]:
    """Spans of `api_key "..."` strings in a block that did not parse, so no message shows
    them."""
    spans = []
    for m in re.finditer(r'\bapi_key\s+("(?:[^"\\\n]|\\[^\n])*"?)', text):
        line, col = place(text, m.start(1))
        spans.append(Span(path, line, col, line, col + len(m.group(1))))
    return spans
