"""Specs of the judge and judged-goal tests of batch mode and deployments, and running a spec
as a user does (a CLI process, to kill -9 while it polls a batch job)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from support import crash

# The experiment, corpus, goals and probe; each test adds its models, judge and evaluate.
HEAD = ('experiment {name} {{ seed 5  store "{name}.duckdb"{budget} }}\n'
        'corpus c {{ read "corpus.jsonl" text "text" }}\n'
        'goals {{ length = char_count normalize 0..400{goals} }}\n'
        'probe p from c {{ sources {sources} unweighted  requests 1 per source  active 1  '
        'goals length }}\n')
MARK = "SAME CONTENT?"  # in every groundedness question, in no other prompt
JUDGE = ('judge meaning {{\n  model {model}\n  prompt template """\n    ' + MARK +
         ' A: {{version_a}}\n    B: {{version_b}}\n  """\n}}\n')
RUBRIC = "How polite is this text, from 0 to 10?"
POLITE = f'\n  polite = judge {{model}} rubric "{RUBRIC}" scale 0..10'


def write_spec(folder: Path, name: str, body: str, *, texts: int = 4, sources: int = 4,
               budget: str = "", judged_by: str | None = None) -> Path:
    """A spec `name`.steer over `texts` notes ("Note 0. ...", each unique); `judged_by`: a
    model scoring the goal `polite`."""
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i in range(texts):
            f.write(json.dumps({"text": f"Note {i}. The committee met on a rainy day."}) + "\n")
    head = HEAD.format(name=name, budget=f"  budget {budget}" if budget else "",
                       goals=POLITE.format(model=judged_by) if judged_by else "",
                       sources=sources)
    spec = folder / f"{name}.steer"
    spec.write_text(head + body, encoding="utf-8")
    return spec


def steerdsl_run(spec: Path) -> subprocess.Popen:
    """`steerdsl run SPEC -q` in its own process, polling batch jobs every 0.05 s."""
    return crash.steerdsl_run(spec, env={**os.environ, "STEERDSL_BATCH_POLL_S": "0.05"})


def kill_9_while_polling(spec: Path, server, polls: int = 3) -> None:
    """Run `spec` and kill -9 it once the batch server saw `polls` more retrieves (a job is
    submitted and polled while in progress)."""
    until = server.retrieves + polls
    crash.kill_9_when(steerdsl_run(spec), lambda: server.retrieves >= until, deadline_s=120)


def rerun(spec: Path) -> None:
    """Run `spec` to its end in its own process; it must exit 0."""
    proc = steerdsl_run(spec)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
