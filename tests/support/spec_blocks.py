"""Specs written block by block, for the language tests: a base spec (blocks in order) with
some blocks replaced (an empty string drops one), over a four-line corpus c.jsonl."""

from __future__ import annotations

from pathlib import Path

import pytest

import steerdsl
from steerdsl.lang.diagnostics import SpecError


# The first blocks of the base specs (lines 1-7): two goals, the evaluated probe p of corpus c.
HEAD = {
    "experiment": "experiment e { seed 1 }\n",
    "corpus": 'corpus c { read "c.jsonl" text "text" }\n',
    "goals": ("goals {\n  reading_difficulty = char_count normalize 0..100\n"
              "  formality = word_count normalize 0..50\n}\n"),
    "probe": "probe p from c { sources 2 requests 2 per source active 1 }\n",
}
# A probe of c that excludes p (line 8 after HEAD), and the local model (line 9).
APART = "probe t from c { sources 2 requests 2 per source active 1 exclude p }\n"
LOCAL_MODEL = 'model m { local "smollm2" }\n'


def write_blocks(tmp_path: Path, base: dict[str, str], blocks: dict[str, str]) -> Path:
    (tmp_path / "c.jsonl").write_text('{"text": "a b c"}\n{"text": "d e"}\n{"text": "f"}\n'
                                      '{"text": "g h"}\n', encoding="utf-8")
    path = tmp_path / "s.steer"
    path.write_text("".join(v for v in {**base, **blocks}.values() if v), encoding="utf-8")
    return path


def block_errors(tmp_path: Path, base: dict[str, str], blocks: dict[str, str]) -> list[str]:
    """"line:col: message" of each error the spec has (it must have one)."""
    with pytest.raises(SpecError) as info:
        steerdsl.load(write_blocks(tmp_path, base, blocks))
    return [f"{d.span.line}:{d.span.col}: {d.text}" for d in info.value.diagnostics]


def block(header: str, *lines: str) -> str:
    """`header {` and one item per line, indented."""
    return header + " {\n" + "".join(f"  {x}\n" for x in lines) + "}\n"
