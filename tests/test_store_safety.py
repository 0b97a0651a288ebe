"""Stores under hostile conditions (issue 11): a file that is not a steerdsl store, two specs
sharing a store, SIGTERM and kill -9, damaged files, a store held by another process, and
"~" in paths. Real DuckDB files, real subprocesses for signals, the loopback model server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import steerdsl
from steerdsl.cli import main
from steerdsl.store.db import open_store
from support.fake_openai import FakeOpenAI, Reply
from support.stores import read_rows
from support.synthetic_store import write_synthetic_store

SPEC = """
experiment {name} {{
  seed 3
  store "{store}"
}}
corpus c {{ read "{corpus}" text "text" }}
goals {{
  length = char_count normalize 0..400
}}
probe p from c {{
  sources {sources} unweighted
  requests {requests} per source
  active 1
  delta -0.7..0.7 deadzone 0.1
}}
model fake {{
  litellm "openai/fake"
  api_base "{url}"
  concurrency 2
  retries 0
}}
intervention direct {{ prompt direct negative }}
evaluate {{ probe p  models fake  interventions direct }}
"""


def write_spec(folder: Path, file: str = "a.steer", *, name: str = "a",
               store: str = "runs/shared.duckdb", url: str = "http://127.0.0.1:9/v1",
               requests: int = 2, sources: int = 4, corpus: str = "corpus.jsonl") -> Path:
    corpus_path = folder / Path(corpus).expanduser()  # an absolute path replaces the folder
    corpus_path.parent.mkdir(parents=True, exist_ok=True)
    with open(corpus_path, "w") as f:
        for i in range(6):
            f.write(json.dumps({"text": f"Note {i}. " + "The committee met to talk. " * (i + 1)})
                    + "\n")
    spec = folder / file
    spec.write_text(SPEC.format(name=name, store=store, url=url, requests=requests,
                                sources=sources, corpus=corpus))
    return spec


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def steerdsl_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "steerdsl.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# --- item 7: a DuckDB file that is not a steerdsl store, a file that is not DuckDB -----------


def test_foreign_duckdb_file_is_refused_before_anything_is_written(tmp_path, capsys):
    db = tmp_path / "runs" / "shared.duckdb"
    db.parent.mkdir()
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE invoices AS SELECT 1 AS id")
    con.execute("CREATE VIEW open_invoices AS SELECT * FROM invoices")
    con.close()
    before = db.read_bytes()
    spec = write_spec(tmp_path)
    message = (f"error: {db} is a DuckDB database but not a steerdsl store (it holds table "
               "invoices, view open_invoices); steerdsl writes only into its own stores: give "
               "the store another file name\n")
    assert cli(capsys, "run", spec, "--until", "probe", "-q") == (1, "", message)
    assert cli(capsys, "measure", "--db", db, "Some text.") == (1, "", message)
    assert db.read_bytes() == before
    assert sorted(os.listdir(db.parent)) == ["shared.duckdb"]


def test_text_file_as_store_is_refused(tmp_path, capsys):
    db = tmp_path / "notes.duckdb"
    db.write_text("my notes\n" * 50)
    code, out, err = cli(capsys, "measure", "--db", db, "Some text.")
    assert (code, out) == (1, "")
    assert err == (f"error: {db} is not a DuckDB database (a file of another kind): give the "
                   "store another file name\n")
    assert db.read_text() == "my notes\n" * 50
    code, _, err = cli(capsys, "query", db, "SELECT 1")
    assert code == 1 and "is not a DuckDB database" in err


def test_store_in_a_folder_that_is_a_file(tmp_path, capsys):
    (tmp_path / "runs").write_text("not a folder")
    code, out, err = cli(capsys, "run", write_spec(tmp_path), "--until", "corpus", "-q")
    assert (code, out) == (1, "")
    assert err == (f"error: cannot create the store {tmp_path / 'runs' / 'shared.duckdb'}: "
                   "File exists\n")


def test_store_without_the_marker_is_adopted_and_an_empty_file_becomes_a_store(tmp_path,
                                                                              capsys):
    old = tmp_path / "runs" / "shared.duckdb"
    con = open_store(old)
    con.execute("DELETE FROM meta")  # a store made before the format marker
    con.close()
    spec = write_spec(tmp_path)
    assert cli(capsys, "run", spec, "--until", "corpus", "-q")[0] == 0
    assert read_rows(old, "SELECT value FROM meta WHERE key = 'format'") == [("steerdsl-store/1",)]
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    assert cli(capsys, "measure", "--db", empty, "Some text.")[0] == 0
    assert read_rows(empty, "SELECT value FROM meta WHERE key = 'format'") == [("steerdsl-store/1",)]


# --- item 8: one store, one spec -------------------------------------------------------------


def test_a_second_spec_is_refused_and_reads_are_scoped(tmp_path, capsys):
    a = write_spec(tmp_path, "a.steer", name="a")
    b = write_spec(tmp_path, "b.steer", name="b", requests=1)
    db = tmp_path / "runs" / "shared.duckdb"
    assert cli(capsys, "run", a, "--until", "probe", "-q")[0] == 0
    before = read_rows(db, "SELECT * FROM current ORDER BY ALL")

    refused = (f"the store {db} holds the results of spec {a} (experiment a); two specs in one "
               f"store would show each other's results: give {b} a store of its own "
               "(`store \"runs/b.duckdb\"` in its experiment block), or run the spec that owns "
               "this one")
    assert cli(capsys, "run", b, "--until", "probe", "-q") == (1, "", f"error: {refused}\n")
    assert read_rows(db, "SELECT * FROM current ORDER BY ALL") == before
    assert read_rows(db, "SELECT count(*) FROM runs") == [(1,)]
    assert cli(capsys, "query", b, "SELECT count(*) FROM probe_goals") == \
        (1, "", f"error: {refused}\n")
    code, out, _ = cli(capsys, "compile", b)
    assert code == 0 and "0 of 6 stages done" in out and f"note: {refused}" in out
    assert "4 of 6 stages done" in cli(capsys, "compile", a)[1]
    assert cli(capsys, "query", a, "SELECT count(*) AS n FROM probe_rows", "--csv")[:2] == \
        (0, "n\n8\n")

    # The same spec edited (its experiment renamed) keeps its store; so does a moved spec.
    a.write_text(a.read_text().replace("experiment a", "experiment a2"))
    assert cli(capsys, "run", a, "--until", "probe", "-q")[0] == 0
    moved = a.rename(tmp_path / "a-moved.steer")
    assert cli(capsys, "run", moved, "--until", "probe", "-q")[0] == 0
    assert read_rows(db, "SELECT key, value FROM meta WHERE key LIKE 'owner_%' ORDER BY key") == [
        ("owner_experiment", "a2"), ("owner_spec", str(moved)), ("owner_store", str(db))]


def test_imports_and_runs_do_not_share_a_store(tmp_path, capsys):
    spec = write_spec(tmp_path)
    db = tmp_path / "runs" / "shared.duckdb"
    assert cli(capsys, "run", spec, "--until", "probe", "-q")[0] == 0
    results = tmp_path / "results.csv"
    results.write_text("text,source_length,delta_length,target_length,output_length\n"
                       "Hello there.,0.5,0.2,0.7,0.6\n")
    code, out, err = cli(capsys, "import-reference", results, "--db", db, "--model", "m",
                         "--intervention", "i")
    assert (code, out) == (1, "")
    assert err == (f"error: the store {db} holds the results of spec {spec} (experiment a); an "
                   "import would drop out of its views at the spec's next run: import into a "
                   "store of its own (--db OTHER.duckdb), and compare the two with "
                   f"`steerdsl report {db} OTHER.duckdb`\n")
    imports = tmp_path / "imports.duckdb"
    assert cli(capsys, "import-reference", results, "--db", imports, "--model", "m",
               "--intervention", "i")[0] == 0
    other = write_spec(tmp_path, "other.steer", name="other", store=str(imports))
    code, out, err = cli(capsys, "run", other, "--until", "probe", "-q")
    assert (code, out) == (1, "")
    assert err == (f"error: the store {imports} holds results imported with `steerdsl "
                   f"import-reference`, which a run of {other} would hide from the views: give "
                   "the spec a store of its own (`store \"runs/NAME.duckdb\"` in its experiment "
                   "block)\n")


def test_a_failed_import_does_not_claim_a_new_store(tmp_path, capsys):
    db = tmp_path / "runs" / "shared.duckdb"
    bad = tmp_path / "bad.csv"
    bad.write_text("text,source_length\nHello.,0.5\n")
    assert cli(capsys, "import-reference", bad, "--db", db, "--model", "m",
               "--intervention", "i")[0] == 1
    assert cli(capsys, "run", write_spec(tmp_path), "--until", "corpus", "-q")[0] == 0


# --- item 11: SIGTERM and kill -9 ------------------------------------------------------------


def _start_generating(server: FakeOpenAI, spec: Path) -> subprocess.Popen:
    seen = server.count()
    proc = steerdsl_cli("run", spec, "-q")
    deadline = time.monotonic() + 120
    while server.count() == seen:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.5)
    return proc


def test_sigterm_stops_like_ctrl_c_and_kill_9_is_closed_at_the_next_open(tmp_path):
    db = tmp_path / "runs" / "shared.duckdb"
    with FakeOpenAI(default=Reply.ok(delay=0.2)) as server:
        spec = write_spec(tmp_path, url=server.url, requests=25)
        proc = _start_generating(server, spec)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        # (litellm may warn first about its logging tasks cut short, as on Ctrl-C)
        assert err.endswith("terminated; rerun the same command to continue where it "
                            "stopped\n") and "Traceback" not in err, err
        assert read_rows(db, "SELECT status, pid, finished_at IS NOT NULL FROM runs") == \
            [("interrupted", proc.pid, True)]
        kept = read_rows(db, "SELECT count(*) FROM calls WHERE status = 'ok'")[0][0]
        assert kept > 0  # the answers before the signal were written

        proc = _start_generating(server, spec)
        proc.kill()
        proc.wait()
        assert read_rows(db, "SELECT status FROM runs WHERE pid = ?".replace("?", str(proc.pid))) \
            == [("running",)]
        open_store(db).close()  # the next writer: the killed run's process is gone
        assert read_rows(db, "SELECT status, finished_at FROM runs WHERE pid = %d" % proc.pid) == \
            [("interrupted", None)]
        server.default = Reply.ok()
        done = steerdsl_cli("run", spec, "-q")
        assert done.wait(timeout=300) == 0, done.communicate()
    assert read_rows(db, "SELECT status, count(*) FROM runs GROUP BY ALL ORDER BY ALL") == \
        [("interrupted", 2), ("ok", 1)]
    assert read_rows(db, "SELECT count(*) FROM calls WHERE status = 'ok'") == [(4 * 25,)]


# --- item 12: damaged stores -----------------------------------------------------------------

BLOCK = 262144
HEADERS = 3 * 4096  # DuckDB's file header and two database headers precede block 0


@pytest.fixture(scope="module")
def good_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("damage") / "good.duckdb"
    write_synthetic_store(path, n_sources=30, per_source=8, seed=3)
    return path


def _outputs_block(path: Path) -> int:
    """A block holding rows of `outputs`, which every metric reads."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        ids = con.execute("SELECT DISTINCT block_id FROM pragma_storage_info('outputs') "
                          "WHERE block_id >= 0 ORDER BY block_id").fetchall()
    finally:
        con.close()
    return ids[len(ids) // 2][0]


def _damaged(good: Path, folder: Path, how: str) -> Path:
    path = folder / f"{how}.duckdb"
    shutil.copy(good, path)
    if how == "truncated":
        os.truncate(path, path.stat().st_size // 10)
    else:  # bytes overwritten in the middle of a block the metrics read
        with open(path, "r+b") as f:
            f.seek(HEADERS + _outputs_block(good) * BLOCK + BLOCK // 2)
            f.write(b"\xab" * 4096)
    return path


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
def test_damaged_store_one_message_exit_1_everywhere(good_store, tmp_path, capsys, how):
    db = _damaged(good_store, tmp_path, how)
    spec = write_spec(tmp_path, store=db.name)
    for args in (["query", db, "SELECT count(*) FROM metrics"],
                 ["query", spec, "SELECT * FROM summary"],
                 ["report", db, "-o", tmp_path / "r.html"]):
        code, out, err = cli(capsys, *args)
        assert (code, out) == (1, ""), (args, err)
        assert err.startswith(f"error: the store {db} is damaged ("), (args, err)
        assert err.endswith("); keep a copy of it, and rerun into a new store (another `store` "
                            "path in the spec, or move this file away)\n"), (args, err)
    assert not (tmp_path / "r.html").exists()


def test_damaged_store_compile_run_export(good_store, tmp_path, capsys):
    db = _damaged(good_store, tmp_path, "truncated")
    spec = write_spec(tmp_path, store=db.name)
    for args in (["compile", spec], ["run", spec], ["export-probe", db, "-o", tmp_path / "p.csv"]):
        code, out, err = cli(capsys, *args)
        assert (code, out) == (1, ""), (args, out, err)
        assert err.startswith(f"error: the store {db} is damaged ("), (args, err)
    assert not (tmp_path / "p.csv").exists()


def test_damaged_store_fallback_message_names_no_path(tmp_path, capsys, good_store):
    """Where no command expected a damaged file, the error boundary still says what it is."""
    from steerdsl.store.db import StoreDamaged

    assert str(StoreDamaged(None, "Corrupt database file")) == (
        "the store is damaged (Corrupt database file); keep a copy of it, and rerun into a new "
        "store (another `store` path in the spec, or move this file away)")


# --- item 18: who holds the store ------------------------------------------------------------


def test_store_held_by_a_reader_names_its_process(tmp_path, capsys):
    db = tmp_path / "runs" / "shared.duckdb"
    open_store(db).close()
    holder_script = tmp_path / "hold.py"
    holder_script.write_text("import duckdb, sys\n"
                             "con = duckdb.connect(sys.argv[1], read_only=True)\n"
                             "print('ready', flush=True)\n"
                             "sys.stdin.readline()\n")
    holder = subprocess.Popen([sys.executable, str(holder_script), str(db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        spec = write_spec(tmp_path)
        code, out, err = cli(capsys, "run", spec, "--until", "corpus", "-q")
        assert (code, out) == (1, "")
        assert err == (f"error: the store {db} is in use by process {holder.pid} "
                       f"({sys.executable} {holder_script} {db}): wait for it to finish or to "
                       "close the store, then try again\n")
    finally:
        holder.communicate("\n", timeout=30)


def test_store_held_by_a_run_says_so(tmp_path, capsys):
    with FakeOpenAI(default=Reply.ok(delay=0.2)) as server:
        spec = write_spec(tmp_path, url=server.url, requests=25)
        db = tmp_path / "runs" / "shared.duckdb"
        proc = _start_generating(server, spec)
        try:
            code, out, err = cli(capsys, "run", spec, "-q")
        finally:
            proc.kill()
            proc.wait()
    assert (code, out) == (1, "")
    assert err == (f"error: the store {db} is in use by process {proc.pid} (steerdsl run "
                   f"{spec} -q): wait for the run to finish, or stop it (Ctrl-C); a stopped run "
                   "continues where it stopped when started again\n")


# --- item 24: "~" in paths, counts in messages -----------------------------------------------


def test_tilde_is_the_home_folder(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    spec = write_spec(spec_dir, store="~/stores/x.duckdb", corpus="~/data/corpus.jsonl")
    plan = steerdsl.load(spec).plan()
    assert plan.experiment.store == str(home / "stores" / "x.duckdb")
    files = plan.corpora[0].sources[0].files
    assert [f.path for f in files] == [str(home / "data" / "corpus.jsonl")]
    assert cli(capsys, "check", spec)[0] == 0
    assert cli(capsys, "run", spec, "--until", "corpus", "-q")[0] == 0
    assert (home / "stores" / "x.duckdb").is_file()
    assert not (spec_dir / "~").exists()
    assert cli(capsys, "query", "~/stores/x.duckdb", "SELECT count(*) AS n FROM corpus_texts",
               "--csv")[:2] == (0, "n\n6\n")


def test_one_failed_request_is_singular(tmp_path, capsys):
    with FakeOpenAI(default=Reply.error(400)) as server:
        spec = write_spec(tmp_path, url=server.url, requests=1, sources=1)
        code, _, err = cli(capsys, "run", spec)
    assert code == 1  # incomplete
    assert "generate:fake/direct: 1 of 1 call failed (stored as errors):\n  1 request refused" in err
    assert "run incomplete: 1 call failed (see above)" in err


def test_count_words():
    from steerdsl.words import count

    assert [count(0, "text"), count(1, "text"), count(2, "text"), count(1, "corpus", "corpora"),
            count(3, "corpus", "corpora")] == ["0 texts", "1 text", "2 texts", "1 corpus",
                                                "3 corpora"]
