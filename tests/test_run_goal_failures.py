"""Goals that fail, end to end (issue 11, items 4 and 5): a Python goal beside the spec that
raises for texts with a marker word, and the real loopback server answering with that word for
some prompts. Failed values are stored with their errors, their texts never become sources, a
run with answers left unscored says so and exits 1, a rerun measures nothing again, and
`--retry-errors` measures the failed values again once the goal works."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from steerdsl.cli import main
from support.fake_openai import FakeOpenAI, Reply, Request, default_answer, source_of
from support.stores import read_rows as _rows

SPEC = """
experiment exp {{ seed 5  store "out/exp.duckdb" }}
corpus c {{ read "corpus.jsonl" }}
goals {{
  text_length = token_count                normalize 1..200
  marks       = python "zebra_goal:score"  normalize 0..50
}}
probe p from c {{ sources 8 unweighted  requests 1 per source  active 1  goals text_length }}
model fake {{ litellm "openai/fake"  api_base "{url}"  api_key env STEERDSL_TEST_KEY }}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models fake  interventions direct }}
"""

# Fails while fail.flag exists beside it; logs every text it is called with.
GOAL = '''
import pathlib

HERE = pathlib.Path(__file__).parent


def score(text):
    with open(HERE / "calls.log", "a", encoding="utf-8") as f:
        f.write(json.dumps(text) + "\\n")
    if (HERE / "fail.flag").exists() and "zebra" in text:
        raise ValueError("zebra seen")
    return len(text.split())
'''

PLAIN = [f"The plain text number {i} talks about the weather and the sea." for i in range(5)]
ALPHA = [f"The alpha text number {i} talks about a garden in spring." for i in range(3)]
ZEBRA = [f"The zebra text number {i} talks about the savanna." for i in range(2)]
ERROR = "zebra_goal:score raised ValueError: zebra seen"


def answer_with_marker(request: Request) -> Reply:
    """The answers to the alpha texts contain the marker: their Python value fails."""
    answer = default_answer(request.prompt, 0)
    return Reply.ok("zebra " + answer if "alpha" in source_of(request.prompt) else answer)


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    texts = PLAIN[:2] + ZEBRA[:1] + ALPHA + ZEBRA[1:] + PLAIN[2:]
    (tmp_path / "corpus.jsonl").write_text(
        "".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    (tmp_path / "zebra_goal.py").write_text("import json\n" + GOAL, encoding="utf-8")
    (tmp_path / "fail.flag").touch()
    monkeypatch.setenv("STEERDSL_TEST_KEY", "sk-test")
    return tmp_path


def _doc_query(marker: str) -> str:
    doc = Path(__file__).resolve().parents[1] / "docs" / "sql.md"
    return next(q for q in re.findall(r"```sql\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
                if marker in q)


def _logged(workdir: Path) -> list[str]:
    return [json.loads(line) for line in (workdir / "calls.log").read_text().splitlines()]


def _summary_line(out: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith("fake"))
    return line.split()[:5]


def test_failed_goal_values_are_stored_left_out_of_probes_and_retried(workdir, capsys):
    db = workdir / "out" / "exp.duckdb"
    with FakeOpenAI(default=answer_with_marker) as server:
        spec = workdir / "exp.steer"
        spec.write_text(SPEC.format(url=server.url), encoding="utf-8")

        assert main(["run", str(spec)]) == 1  # not -q: it silences the stages' messages
        captured = capsys.readouterr()
        # The probe never draws a text missing a goal's value, even a goal it does not move.
        assert ("  probe p: 2 of 10 texts of corpus c left out: a goal's value could not be "
                "measured (marks: 2; see the measurements table)") in captured.err
        drawn = [t for (t,) in _rows(db, "SELECT t.text FROM probe_rows JOIN texts t "
                                         "USING (text_hash) ORDER BY row_id")]
        assert sorted(drawn) == sorted(PLAIN + ALPHA)
        assert _rows(db, "SELECT info->>'unmeasured' FROM stages_done "
                         "WHERE stage = 'probe:p'") == [("2",)]
        assert server.count() == 8
        # Every failed value is stored with its error: 2 corpus texts and 3 answers.
        failed = _rows(db, "SELECT t.text, m.error FROM measurements m JOIN texts t "
                           "USING (text_hash) WHERE m.error IS NOT NULL ORDER BY t.text")
        answers = sorted("zebra answer 0: " + t for t in ALPHA)
        assert failed == [(t, ERROR) for t in sorted(ZEBRA + answers)]
        # The run says so, counts them, and is incomplete.
        assert _summary_line(captured.out) == ["fake", "direct", "5", "0/8", "3"]
        assert ("incomplete: 3 answers without scores: 3 values could not be measured (errors "
                "in the measurements table); --retry-errors measures failed Python and judge "
                "values again") in captured.err
        assert "  score fake/direct: `steerdsl run SPEC --retry-errors` measures the 3 " \
               "failed Python or judge values again" in captured.err
        assert _rows(db, "SELECT status FROM runs") == [("incomplete",)]
        # docs/sql.md's query for them
        assert _rows(db, _doc_query("most_frequent_error")) == [
            ("fake", "direct", "marks", 3, ERROR), ("fake", "direct", "text_length", 0, None)]
        assert _rows(db, "SELECT count(*), count(steering_error) FROM metrics") == [(8, 5)]
        done = {s for (s,) in _rows(db, "SELECT stage FROM stages_done")}
        assert "score:fake/direct" not in done and "generate:fake/direct" in done
        assert len(_logged(workdir)) == 10 + 8

        # A rerun measures nothing again, sends nothing, and still says what is missing.
        assert main(["run", str(spec), "-q"]) == 1
        captured = capsys.readouterr()
        assert len(_logged(workdir)) == 18 and server.count() == 8
        assert "incomplete: 3 answers without scores: 3 values" in captured.err
        assert _summary_line(captured.out) == ["fake", "direct", "5", "0/8", "3"]

        # Once the goal works, --retry-errors measures exactly the failed values again.
        (workdir / "fail.flag").unlink()
        assert main(["run", str(spec), "--retry-errors", "-q"]) == 0
        captured = capsys.readouterr()
        assert sorted(_logged(workdir)[18:]) == sorted(ZEBRA + answers)
        assert server.count() == 8
        assert "incomplete" not in captured.err
        assert _summary_line(captured.out) == ["fake", "direct", "8", "0/8", "0"]
    assert _rows(db, "SELECT count(*) FROM measurements WHERE error IS NOT NULL") == [(0,)]
    assert _rows(db, "SELECT count(*), count(steering_error) FROM metrics") == [(8, 8)]
    assert _rows(db, "SELECT status FROM runs ORDER BY started_at") == [
        ("incomplete",), ("incomplete",), ("ok",)]
    done = {s for (s,) in _rows(db, "SELECT stage FROM stages_done")}
    assert "score:fake/direct" in done
    # The probe drawn stays as it was: the texts measured again are not added to it.
    assert _rows(db, "SELECT count(*) FROM probe_rows") == [(8,)]
