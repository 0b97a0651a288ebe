"""The formatter: golden layouts, idempotence, every comment and token kept, plan hashes
unchanged on every spec we have and on fuzzed ones.

Rewrite tests/golden/fmt/*.formatted.steer after an intended change with
STEERDSL_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import steerdsl
from steerdsl.lang.diagnostics import SpecError
from steerdsl.lang.format import format_source
from steerdsl.lang.parser import parse_text
from steerdsl.lang.tokens import tokenize
from test_fuzz_spec import _DIR, VALID, mutated

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "fmt"
UPDATE = os.environ.get("STEERDSL_UPDATE_GOLDEN") == "1"
SPECS = sorted((ROOT / "specs").glob("*.steer")) + sorted(
    (ROOT / "tests" / "golden" / "specs").glob("*.steer"))
INPUTS = sorted(p for p in GOLDEN.glob("*.steer") if not p.name.endswith(".formatted.steer"))


def comments(text: str) -> Counter[str]:
    return Counter(t.text.rstrip() for t in tokenize(text) if t.kind == "comment")


def code_tokens(text: str) -> Counter[str]:
    return Counter(t.text for t in tokenize(text) if t.kind != "comment")


def assert_layout_only(text: str) -> str:
    """Format; the result is a fixed point and holds the same comments and tokens."""
    out = format_source(text)
    assert format_source(out) == out, "formatting is not idempotent"
    assert comments(out) == comments(text), "a comment was lost or changed"
    assert code_tokens(out) == code_tokens(text), "a token was lost or changed"
    return out


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_golden_layouts(path: Path):
    out = assert_layout_only(path.read_text(encoding="utf-8"))
    target = path.with_suffix(".formatted.steer")
    if UPDATE:
        target.write_text(out, encoding="utf-8")
    assert target.is_file(), f"{target} missing: run with STEERDSL_UPDATE_GOLDEN=1"
    assert out == target.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", SPECS + [p.with_suffix(".formatted.steer") for p in INPUTS],
                         ids=lambda p: p.name)
def test_every_spec_formats_idempotently_keeping_comments(path: Path):
    assert_layout_only(path.read_text(encoding="utf-8"))


def _project(tmp_path: Path) -> Path:
    """A copy of the specs and the files they read (hashes do not depend on the folder)."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copytree(ROOT / "data" / "demo", tmp_path / "data" / "demo")
    shutil.copytree(ROOT / "tests" / "golden" / "specs", tmp_path / "golden")
    return tmp_path


def _hashes(path: Path) -> dict[str, str]:
    plan = steerdsl.load(path).plan()
    return {**{s.id: s.hash for s in plan.stages}, "spec": plan.spec_hash}


def test_formatting_changes_no_plan_hash(tmp_path):
    root = _project(tmp_path)
    specs = sorted(root.glob("specs/*.steer")) + sorted(root.glob("golden/*.steer"))
    assert len(specs) == len(SPECS)
    for spec in specs:
        before = _hashes(spec)
        spec.write_text(format_source(spec.read_text(encoding="utf-8")), encoding="utf-8")
        assert _hashes(spec) == before, spec.name


def test_the_messy_golden_input_plans_the_same_as_its_layout(tmp_path):
    (tmp_path / "c.jsonl").write_text('{"text": "one two", "label": "a"}\n', encoding="utf-8")
    (tmp_path / "probe.csv").write_text("text,source_length\nhello,0.5\n", encoding="utf-8")
    shutil.copy(ROOT / "tests" / "golden" / "specs" / "golden_measures.py", tmp_path)
    a, b = tmp_path / "a.steer", tmp_path / "b.steer"
    a.write_text((GOLDEN / "messy.steer").read_text(encoding="utf-8"), encoding="utf-8")
    b.write_text((GOLDEN / "messy.formatted.steer").read_text(encoding="utf-8"),
                 encoding="utf-8")
    assert _hashes(a) == _hashes(b)


def test_a_syntax_error_raises_the_parsers_spec_error():
    text = "experiment e {\n  seed\n}\nmodel m { temperature }\n"
    _, diags, _ = parse_text(text, "x.steer")
    with pytest.raises(SpecError) as e:
        format_source(text, "x.steer")
    assert e.value.diagnostics == sorted(
        diags, key=lambda d: (d.span.file, d.span.line, d.span.col, d.message))
    assert e.value.render().startswith("x.steer:3:1: error: unexpected '}'")


def test_an_empty_spec_and_comments_only():
    assert format_source("") == ""
    assert format_source("  \n\n") == ""
    assert format_source("# only\n\n\n# comments  \n") == "# only\n\n# comments\n"


def test_crlf_and_bom_become_plain_newlines():
    text = "\ufeffexperiment e {\r\n  seed 1  # s\r\n}\r\n"
    assert format_source(text) == "experiment e {\n  seed 1  # s\n}\n"


def test_a_comment_after_any_token_of_the_paper_spec_is_kept():
    text = (ROOT / "specs" / "paper.steer").read_text(encoding="utf-8")
    for i, t in enumerate(tokenize(text)):
        for comment in (f" # c{i}\n", f"\n# c{i}\n"):
            variant = text[:t.end] + comment + text[t.end:]
            _, diags, _ = parse_text(variant, "v.steer")
            if not diags:  # `model` + newline + `judge {`: the parser's business, not ours
                assert_layout_only(variant)


# --- fuzzing ---------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=5000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def commented(draw) -> str:
    """The fuzz test's valid spec with comments put between random tokens."""
    lines = VALID.split("\n")
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(lines) - 1))
        if '"""' in lines[i] or "{text}" in lines[i] or lines[i].lstrip().startswith("#"):
            continue  # not inside a triple-quoted template, nor inside another comment
        words = lines[i].split(" ")
        j = draw(st.integers(0, len(words)))
        comment = f"# c{draw(st.integers(0, 99))}"
        if draw(st.booleans()):
            lines.insert(i, comment)
        else:  # the rest of the line goes to a new line after the comment
            lines[i] = " ".join(words[:j] + [comment]) + "\n" + " ".join(words[j:])
    return "\n".join(lines)


@FUZZ
@given(commented())
def test_comments_anywhere_are_kept_and_the_plan_is_the_same(text: str):
    out = assert_layout_only(text)
    a, b = _DIR / "commented.steer", _DIR / "commented.formatted.steer"
    a.write_text(text, encoding="utf-8")
    b.write_text(out, encoding="utf-8")
    assert _hashes(a) == _hashes(b)


@FUZZ
@given(mutated())
def test_mutated_specs_format_when_they_parse_and_fail_as_the_parser_does(data: bytes):
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    _, diags, _ = parse_text(text, "m.steer")
    if any(d.severity == "error" for d in diags):
        with pytest.raises(SpecError):
            format_source(text, "m.steer")
        return
    out = assert_layout_only(text)
    a, b = _DIR / "mutant-fmt.steer", _DIR / "mutant-fmt.formatted.steer"
    a.write_text(text, encoding="utf-8")
    b.write_text(out, encoding="utf-8")
    try:
        before = _hashes(a)
    except SpecError:
        with pytest.raises(SpecError):  # an invalid spec stays invalid
            _hashes(b)
        return
    assert _hashes(b) == before
