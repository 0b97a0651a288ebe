"""kill -9 of `steerdsl run` while it generates, at several points, against the loopback
server: the resumed run ends with exactly the calls of an uninterrupted run, no stored answer
is ever requested again, and each kill loses only answers from about the last second."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import steerdsl
from steerdsl.run.runner import run_plan
from support.crash import kill_9_when, steerdsl_run, stored_rows
from support.fake_openai import FakeOpenAI, Reply

DELAY = 0.04  # server time per answer; with concurrency 4: at most 100 answers/s
LOST_WINDOW_S = 1.5  # the writer flushes every 0.5 s; slack for a loaded machine
ROWS = 360

SPEC = """
experiment crash {{
  seed 3
  store "{store}"
}}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{
  length = char_count normalize 0..400
}}
probe p from c {{
  sources 12 unweighted
  requests 30 per source
  active 1
  delta -0.7..0.7 deadzone 0.1
}}
model fake {{
  litellm "openai/fake"
  api_base "{url}"
  concurrency 4
  retries 2
}}
intervention direct {{ prompt direct negative }}
evaluate {{ probe p  models fake  interventions direct }}
"""


def write_spec(folder: Path, store: str, url: str) -> Path:
    with open(folder / "corpus.jsonl", "w") as f:
        for i in range(12):
            text = f"Note {i}. " + "The committee met on a rainy Tuesday to talk. " * (i % 3 + 1)
            f.write(json.dumps({"text": text}) + "\n")
    spec = folder / f"{store}.steer"
    spec.write_text(SPEC.format(store=store, url=url))
    return spec


def calls(store: Path) -> list[tuple]:
    return stored_rows(store, "SELECT row_id, sample, status, prompt, raw_answer, answer, "
                              "answer_hash FROM calls ORDER BY row_id, sample")


def test_kill_9_steerdsl_run_then_resume(tmp_path):
    with FakeOpenAI(default=Reply.ok(delay=DELAY)) as server:
        # The reference: an uninterrupted run, in this process (one interpreter start less).
        plan = steerdsl.load(write_spec(tmp_path, "ref.duckdb", server.url)).plan()
        assert run_plan(plan, quiet=True).status == "ok"
        reference = calls(tmp_path / "ref.duckdb")
        assert len(reference) == ROWS and {r[2] for r in reference} == {"ok"}
        assert server.count() == ROWS
        # Rows of a probe may share a prompt (same source, same request): count per prompt.
        rows_per_prompt = Counter(r[3] for r in reference)

        spec = write_spec(tmp_path, "crash.duckdb", server.url)
        stored: Counter[str] = Counter()
        for kill_after_s in (0.3, 2.5):  # after the run's first model request
            seen = server.count()
            killed_at = kill_9_when(steerdsl_run(spec), lambda: server.count() > seen,
                                    kill_after_s)
            log = server.requests()[seen:]
            # Stored answers are never requested again: per prompt, at most the rows missing.
            sent = Counter(r.prompt for r in log)
            assert all(n <= rows_per_prompt[p] - stored[p] for p, n in sent.items())
            now = calls(tmp_path / "crash.duckdb")
            assert len({(r[0], r[1]) for r in now}) == len(now)  # never a duplicate row
            after = Counter(r[3] for r in now)
            # Answers older than about a second were all stored (the writer flushes every
            # 0.5 s): per prompt, the old answered requests are covered by new stored rows.
            old = Counter(r.prompt for r in log if killed_at - r.t > LOST_WINDOW_S)
            assert all(n <= after[p] - stored[p] for p, n in old.items()), kill_after_s
            stored = after
        assert 0 < sum(stored.values()) < ROWS  # the kills did cut the generation short

        seen = server.count()
        proc = steerdsl_run(spec)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        sent = Counter(r.prompt for r in server.requests()[seen:])
        assert sent == rows_per_prompt - stored  # exactly the rows still missing
        assert calls(tmp_path / "crash.duckdb") == reference
        n_out = stored_rows(tmp_path / "crash.duckdb", "SELECT count(*) FROM outputs")
        assert n_out == [(ROWS,)]  # scored after the resume
