"""The report on a store made by a real `steerdsl run` (real spaCy, textstat, litellm calls to a
local OpenAI-compatible server on 127.0.0.1), reached through its spec."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from steerdsl.cli import main
from support.fake_openai import FakeOpenAI

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "corpus.jsonl"

SPEC = """
experiment exp {{ seed 3  store "exp.duckdb" }}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{
  reading_difficulty = flesch_kincaid_grade  normalize 2.8..12.9
  formality          = heylighen_dewaele     normalize 40.37..69.121634
  text_length        = token_count           normalize 78..1509
}}
probe p from c {{ sources 3 unweighted  requests 2 per source  active 1..2 }}
model fake {{ litellm "openai/fake"  api_base "{url}"  api_key env STEERDSL_TEST_KEY }}
intervention direct {{ prompt direct }}
intervention best3 {{ prompt direct  sample 3  temperature 1.0 }}
evaluate {{ probe p  models fake  interventions direct, best3 }}
"""


def test_report_of_a_run(tmp_path, monkeypatch, capsys):
    texts = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()[:4]]
    (tmp_path / "corpus.jsonl").write_text(
        "".join(json.dumps({"text": t["text"]}) + "\n" for t in texts), encoding="utf-8")
    monkeypatch.setenv("STEERDSL_TEST_KEY", "not-a-secret")
    spec = tmp_path / "exp.steer"
    with FakeOpenAI() as server:
        spec.write_text(SPEC.format(url=server.url), encoding="utf-8")
        assert main(["run", str(spec)]) == 0, capsys.readouterr().err
    assert main(["report", str(spec)]) == 0
    page = (tmp_path / "exp.report.html").read_text(encoding="utf-8")
    assert "Steerability report: exp" in page
    table = re.search(r"<table class='headline'>(.*?)</table>", page, re.S).group(1)
    rows = [re.sub(r"<[^>]+>", "|", r) for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    assert len(rows) == 2 and all("|6|" in r for r in rows)  # 3 sources x 2 requests
    assert "best3 (3 samples)" in page and "id='s0-best-of-n'" in page
    assert "fixed 2.8..12.9" in page and "flesch_kincaid_grade" in page
    assert "fake (<code>openai/fake</code>)" in page
    assert re.search(r"ok, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, finished", page)
    assert "not-a-secret" not in page
