"""Loading the grammar and building the (cached) LALR parser."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import lark

_PACKAGE = Path(__file__).parent.parent  # steerdsl/
# Where the wheel puts the grammar (pyproject force-includes grammars/ there), then the repo's
# own folder for editable installs.
_CANDIDATES = (
    _PACKAGE / "grammars" / "steer.lark",
    _PACKAGE.parent / "grammars" / "steer.lark",
)

# Top-level block keywords, in the grammar's order.
BLOCK_KEYWORDS = ("experiment", "corpus", "goals", "probe", "model", "prompt", "intervention",
                  "judge", "evaluate")


def grammar_path() -> Path:
    for p in _CANDIDATES:
        if p.is_file():
            return p
    raise FileNotFoundError("steer.lark not found (looked in " +
                            ", ".join(str(p) for p in _CANDIDATES) + ")")


@lru_cache(maxsize=1)
def parser() -> lark.Lark:
    # cache=True keeps the analysed LALR tables in the temp folder, keyed by the grammar's
    # text and lark's version: constructing the parser then takes milliseconds.
    return lark.Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )


@lru_cache(maxsize=1)
def terminal_texts() -> dict[str, str]:
    """Terminal name -> how to show it in a message ("'temperature'", "a number")."""
    friendly = {
        "NAME": "a name", "NUMBER": "a number", "STRING": "a string",
        "LONG_STRING": "a string", "$END": "end of file",
    }
    out: dict[str, str] = {}
    for t in parser().terminals:
        if t.name in friendly:
            out[t.name] = friendly[t.name]
        elif t.pattern.type == "str":
            out[t.name] = f"'{t.pattern.value}'"
        else:
            out[t.name] = t.name.lower()
    out["$END"] = "end of file"
    return out


def keyword_of(terminal: str) -> str | None:
    """The keyword a terminal stands for, when it is a word ('temperature'), else None."""
    return _keywords().get(terminal)


@lru_cache(maxsize=1)
def _keywords() -> dict[str, str]:
    return {t.name: t.pattern.value for t in parser().terminals
            if t.pattern.type == "str" and t.pattern.value.isidentifier()}


def all_keywords() -> frozenset[str]:
    """Every word the grammar reserves somewhere (block kinds, settings, value words)."""
    return frozenset(_keywords().values())
