"""Salvaging a goals block with a syntax error: it is parsed again goal by goal, so the good
goals still reach the checker and each broken goal gives its own error."""

from __future__ import annotations

import re

from lark.exceptions import UnexpectedInput, UnexpectedToken

from steerdsl.lang import syntax
from steerdsl.lang.blocks import Chunk
from steerdsl.lang.diagnostics import Diagnostic, Span, place
from steerdsl.lang.grammar import parser
from steerdsl.lang.syntax_errors import expected_hint, keyword_as_name, syntax_diagnostic
from steerdsl.lang.transform import build_blocks

_GOAL_START = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*=")


def salvage_goals(text: str, chunk: Chunk, path: str
                  ) -> tuple[syntax.Goals, list[Diagnostic], list[syntax.FailedBlock]] | None:
    """A goals block with a syntax error, parsed goal by goal: the good goals are kept, each
    broken goal gives its own error. None when the block cannot be cut into goals (then the
    block's first error is reported as usual)."""
    if not chunk.closed or chunk.brace is None:
        return None
    body = text[chunk.start:chunk.end]
    open_at = body.find("{")
    close_at = body.rfind("}")
    if open_at < 0 or close_at < open_at:
        return None
    inner_start = chunk.start + open_at + 1
    inner = text[inner_start:chunk.start + close_at]
    starts = [m.start() for m in _GOAL_START.finditer(inner)
              if not inner[:m.start()].strip() or _line_start(inner, m.start())]
    if not starts or _strip_comments(inner[:starts[0]]).strip():
        return None
    goals: list[syntax.Goal] = []
    diags: list[Diagnostic] = []
    broken: list[syntax.FailedBlock] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(inner)
        offset = inner_start + start
        line, col = place(text, offset)
        if line == 1 and col <= len("goals{"):
            return None
        # "goals{" sits in the padding, so the goal keeps its own line and column.
        indent = col - 1 - (len("goals{") if line == 1 else 0)
        prefix = "goals{" + "\n" * (line - 1) + " " * indent
        piece = prefix + inner[start:end] + "\n}"
        name = _GOAL_START.match(inner, start).group(1)
        try:
            tree = parser().parse(piece, on_error=keyword_as_name)
        except UnexpectedInput as e:
            if isinstance(e, UnexpectedToken) and e.token.type == "RBRACE" and \
                    e.token.start_pos == len(piece) - 1:
                # Our own closing brace: the goal stops too early. Point at its last word.
                body_end = len(piece) - 2
                last = re.search(r"(\S+)\s*$", _strip_comments(piece[:body_end]))
                at = last.start(1) if last else body_end
                at_line, at_col = place(piece, at)
                width = len(last.group(1)) if last else 1
                # After a stray word the parser expects "=" of a next goal: not worth saying.
                hint = "" if "EQUAL" in e.expected else expected_hint(e.expected)
                diags.append(Diagnostic("error", f"goal '{name}' is incomplete after this{hint}",
                                        Span(path, at_line, at_col, at_line, at_col + width)))
            else:
                piece_chunk = Chunk(offset, offset, line, col, "goals", None)
                diags.append(syntax_diagnostic(e, piece_chunk, path, piece))
            broken.append(syntax.FailedBlock("goal", name, Span(path, line, col, line,
                                                              col + len(name))))
            continue
        blocks, piece_diags, _ = build_blocks(tree, path)
        diags += piece_diags
        if blocks is None:
            broken.append(syntax.FailedBlock("goal", name, piece_diags[0].span))
        else:
            goals += blocks[0].goals
    if not broken:
        return None  # the goals are fine: the error is elsewhere in the block
    end_line, end_col = place(text, chunk.start + close_at)
    span = Span(path, chunk.line, chunk.col, end_line, end_col + 1)
    return syntax.Goals(goals, span), diags, broken


def _line_start(text: str, pos: int) -> bool:
    return not text[text.rfind("\n", 0, pos) + 1:pos].strip()


def _strip_comments(text: str) -> str:
    return re.sub(r"#[^\n]*", "", text)

