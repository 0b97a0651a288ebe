"""`steerdsl init`: a project that checks clean, is laid out as `fmt` lays it out, never
overwrites by accident, and runs offline on the built-in local model."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import steerdsl
from steerdsl.lang.format import format_source
from test_lang_cli import STEERDSL, cli


def test_init_writes_a_project_that_checks_clean_and_is_formatted(tmp_path: Path):
    r = cli("init", "my-eval", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "my-eval"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == [
        "README.md", "corpus.jsonl", "my_eval.steer", "runs", "runs/.gitignore"]
    spec = folder / "my_eval.steer"
    text = spec.read_text(encoding="utf-8")
    assert format_source(text) == text
    assert "experiment my_eval {" in text and 'store "runs/my_eval.duckdb"' in text
    loaded = steerdsl.load(spec)
    assert not loaded.warnings
    plan = loaded.plan()
    assert [m.provider for m in plan.models] == ["local"]
    for block in ("experiment", "corpus", "goals", "probe", "model", "prompt",
                  "intervention", "evaluate"):  # every block explained by the comment above it
        assert f"\n# " in text.split(f"\n{block} ")[0][-300:], block
    texts = [json.loads(line)["text"] for line in
             (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    assert 24 <= len(texts) <= 60 and all(0 < len(t.split()) < 120 for t in texts)
    # What to run next: printed, and in the README.
    assert "cd my-eval" in r.stdout and "steerdsl run my_eval.steer" in r.stdout
    assert "steerdsl run my_eval.steer" in (folder / "README.md").read_text(encoding="utf-8")
    assert cli("fmt", "--check", str(folder)).returncode == 0


def test_init_refuses_to_overwrite_without_force(tmp_path: Path):
    (tmp_path / "README.md").write_text("mine\n", encoding="utf-8")
    r = cli("init", "--name", "demo", cwd=tmp_path)
    assert r.returncode == 2
    assert "README.md already exists; nothing was written (--force overwrites)" in r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    r = cli("init", "--name", "demo", "--force", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "cd " not in r.stdout  # the project is here
    assert (tmp_path / "demo.steer").is_file()
    assert "# demo" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_init_bad_names_and_places_are_messages(tmp_path: Path):
    r = cli("init", str(tmp_path / "p"), "--name", "2fast")
    assert r.returncode == 2 and "--name '2fast'" in r.stderr
    (tmp_path / "file").write_text("", encoding="utf-8")
    r = cli("init", str(tmp_path / "file"))
    assert r.returncode == 2 and "exists and is not a folder" in r.stderr
    r = cli("init", str(tmp_path / "123"))  # no name from the folder: the template's
    assert r.returncode == 0 and (tmp_path / "123" / "starter.steer").is_file()


@pytest.mark.local_model
def test_the_initialized_project_runs_offline_on_the_local_model(tmp_path: Path):
    assert cli("init", "proj", cwd=tmp_path).returncode == 0
    env = {**os.environ, "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([str(STEERDSL), "run", "-q", "proj.steer"], cwd=tmp_path / "proj",
                       capture_output=True, text=True, env=env, timeout=1500)
    assert r.returncode == 0, r.stderr
    q = cli("query", "proj.steer", "SELECT intervention, count(*) FROM metrics GROUP BY 1 "
            "ORDER BY 1", "--csv", cwd=tmp_path / "proj")
    assert q.returncode == 0, q.stderr
    assert q.stdout.split() == ["intervention,count_star()", "direct,3", "mine,3"]
