"""The Pygments lexer: no error token on any spec we have or can fuzz, every word of the
grammar a keyword (so a setting added later cannot be forgotten), registered for Pygments."""

from __future__ import annotations

import re
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given
from pygments.token import Error, Keyword, Name, String

from steerdsl import catalog
from steerdsl.highlight import SteerLexer, grammar_keywords
from steerdsl.lang.keywords import TABLES
from steerdsl.lang.parser import parse_text
from test_fmt import FUZZ, INPUTS, SPECS, commented
from test_fuzz_spec import mutated

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def tokens(text: str) -> list[tuple]:
    return list(SteerLexer().get_tokens(text))


def assert_no_errors(text: str) -> None:
    bad = [(t, v) for t, v in tokens(text) if t in Error]
    assert not bad, bad[:5]


@pytest.mark.parametrize("path", SPECS + INPUTS, ids=lambda p: p.name)
def test_no_error_token_on_any_spec(path: Path):
    assert_no_errors(path.read_text(encoding="utf-8"))


def _fences(path: Path) -> list[str]:
    found = re.findall(r"^ *```steer\n(.*?)^ *```", path.read_text(encoding="utf-8"),
                       re.S | re.M)
    return [textwrap.dedent(f) for f in found]


def test_no_error_token_in_the_docs_steer_fences():
    fences = [f for p in DOCS for f in _fences(p)]
    assert len(fences) >= 10
    for fence in fences:
        assert_no_errors(fence)


def test_docs_label_every_fence_of_spec_code_steer():
    from steerdsl.lang.grammar import BLOCK_KEYWORDS

    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for lang, body in re.findall(r"^ *```(\w*)\n(.*?)^ *```", text, re.S | re.M):
            words = body.split()
            if lang != "steer" and words and words[0] in BLOCK_KEYWORDS:
                _, diags, _ = parse_text(textwrap.dedent(body), "fence.steer")
                assert diags, f"{path.name}: a fence of spec code without steer: {body[:60]!r}"


def test_every_word_of_the_grammar_is_a_keyword():
    grammar = (ROOT / "grammars" / "steer.lark").read_text(encoding="utf-8")
    # Read independently of the lexer's own derivation: every quoted word of the grammar.
    rules = re.sub(r"//[^\n]*", "", grammar)
    words = set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', rules))
    assert words == set(grammar_keywords())
    assert {k for table in TABLES.values() for k in table} <= words
    for word in sorted(words):
        toks = [(t, v) for t, v in tokens(f"x {word} 1\n") if v == word]
        assert toks and toks[0][0] in Keyword, (word, toks)


def test_declarations_builtins_and_placeholders():
    toks = tokens('model tiny { local "smollm2" }\ngoals {\n  g = mtld + word_count\n}\n'
                  'prompt p extends direct {\n  template """\n    Make it {requests}.\n'
                  '  """\n}\n')
    kinds = {v: t for t, v in toks if v.strip()}
    assert kinds["model"] in Keyword.Declaration and kinds["tiny"] in Name.Class
    assert kinds["local"] in Keyword and kinds["goals"] in Keyword.Declaration
    assert kinds["g"] in Name.Variable
    assert kinds["mtld"] in Name.Builtin and kinds["word_count"] in Name.Builtin
    assert kinds["direct"] in Name.Builtin and kinds["p"] in Name.Class
    assert kinds["{requests}"] in String.Interpol
    assert set(catalog.MEASURES) <= {v for t, v in tokens(" ".join(catalog.MEASURES))
                                     if t in Name.Builtin}


def test_pyproject_registers_the_lexer_for_pygments():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pygments.lexers"] == {
        "steer": "steerdsl.highlight:SteerLexer"}


def test_pygments_finds_the_lexer_once_installed():
    eps = metadata.entry_points(group="pygments.lexers")
    if not any(ep.value == "steerdsl.highlight:SteerLexer" for ep in eps):
        pytest.skip("the installed steerdsl predates the entry point (reinstall to test)")
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    assert get_lexer_by_name("steer").name == "steer"
    assert get_lexer_for_filename("x.steer").name == "steer"


@FUZZ
@given(commented())
def test_no_error_token_on_commented_specs(text: str):
    assert_no_errors(text)


@FUZZ
@given(mutated())
def test_no_error_token_on_mutated_specs_that_parse(data: bytes):
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    _, diags, _ = parse_text(text, "m.steer")
    if not any(d.severity == "error" for d in diags):
        assert_no_errors(text)
