"""The VS Code extension's TextMate grammar (editors/vscode) knows every keyword of the
language, and highlights every spec: the node script editors/vscode/test/check-grammar.js
tokenizes specs/, the golden specs, the starter, fmt's layouts and the fuzzed ones with
vscode-textmate (run here when node and the extension's node_modules are present, and by
.ci/run)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from steerdsl.lang import docs
from steerdsl.lang.grammar import BLOCK_KEYWORDS, all_keywords
from steerdsl.lang.parser import parse_text

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
KEYWORDS_JSON = VSCODE / "test" / "keywords.json"
GRAMMAR = VSCODE / "syntaxes" / "steer.tmLanguage.json"


def keyword_lists() -> dict[str, list[str]]:
    """The grammar's words as the TextMate grammar groups them: block kinds, value words
    (shown as constants), and every other keyword."""
    blocks = set(BLOCK_KEYWORDS)
    settings = set().union(*docs.SETTINGS.values())
    values = docs.VALUES - settings - blocks
    return {"blocks": sorted(blocks), "values": sorted(values),
            "keywords": sorted(all_keywords() - blocks - values)}


def test_keywords_json_is_current():
    """The node script reads the keyword lists from this file; regenerate it with
    STEERDSL_UPDATE_GOLDEN=1."""
    want = json.dumps(keyword_lists(), indent=2) + "\n"
    if os.environ.get("STEERDSL_UPDATE_GOLDEN"):
        KEYWORDS_JSON.write_text(want, encoding="utf-8")
    assert KEYWORDS_JSON.read_text(encoding="utf-8") == want


def _alternatives(pattern: str) -> set[str]:
    inner = re.search(r"\(\?:([^()]*)\)", pattern)
    assert inner, pattern
    return set(inner.group(1).split("|"))


def test_textmate_grammar_has_every_keyword():
    repo = json.loads(GRAMMAR.read_text(encoding="utf-8"))["repository"]
    lists = keyword_lists()
    assert _alternatives(repo["keywords"]["match"]) == set(lists["keywords"])
    assert _alternatives(repo["values"]["match"]) == set(lists["values"])
    assert _alternatives(repo["block-keywords"]["match"]) == set(lists["blocks"])


def test_fuzzed_specs_are_valid_specs():
    fuzzed = sorted((VSCODE / "test" / "fuzz").glob("*.steer"))
    assert fuzzed
    for path in fuzzed:
        _, diags, _ = parse_text(path.read_text(encoding="utf-8"), str(path))
        assert diags == [], path


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.skipif(not (VSCODE / "node_modules" / "vscode-textmate").is_dir(),
                    reason="editors/vscode/node_modules missing: run `npm ci` there")
def test_node_grammar_check():
    done = subprocess.run(["node", "test/check-grammar.js"], cwd=VSCODE, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _expand(body: list[str]) -> str:
    """A snippet with every placeholder at its default (a choice at its first option)."""
    text = "\n".join(body)
    text = re.sub(r"\$\{\d+\|([^,|]*)[^|]*\|\}", r"\1", text)
    while re.search(r"\$\{\d+:([^{}]*)\}", text):
        text = re.sub(r"\$\{\d+:([^{}]*)\}", r"\1", text)
    return re.sub(r"\$\d+", "", text)


def test_snippets_are_valid_syntax():
    snippets = json.loads((VSCODE / "snippets" / "steer.json").read_text(encoding="utf-8"))
    blocks = {s["body"][0].split()[0] for s in snippets.values()}
    assert set(BLOCK_KEYWORDS) <= blocks  # a snippet for each block
    for name, s in snippets.items():
        text = _expand(s["body"])
        if name.startswith("goal "):
            text = f"goals {{\n{text}\n}}"
        elif name == "deployment":
            text = f"model m {{\n{text}\n}}"
        _, diags, _ = parse_text(text + "\n", name)
        assert diags == [], (name, text, [d.render() for d in diags])
