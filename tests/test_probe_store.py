"""Probes in a real DuckDB store: save/load round trip, drawn probes, `steerdsl export-probe`."""

import sys

import numpy as np
import pytest

from steerdsl.cli import main
from steerdsl.errors import StoreError
from steerdsl.plan.model import SampledProbePlan
from steerdsl.probe.draw import draw_probe
from steerdsl.reference.layout import read_reference_csv
from steerdsl.store.probes import load_probe, save_drawn_probe, save_probe
from steerdsl.probe.table import ProbeTable, table_from_drawn
from steerdsl.store.db import open_store
from steerdsl.texts import text_hash

SPACE = ["reading_difficulty", "formality", "textual_diversity", "text_length"]


def same(a, b) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def assert_same_table(a: ProbeTable, b: ProbeTable) -> None:
    assert a.goals == b.goals
    assert a.texts == b.texts
    assert a.text_ids == b.text_ids
    for name in ("source", "delta", "target"):
        assert same(getattr(a, name), getattr(b, name)), name
    if a.source_raw is None:
        assert b.source_raw is None
    else:
        assert same(a.source_raw, b.source_raw)


def corpus(n=300, seed=0):
    rng = np.random.default_rng(seed)
    texts = [f"Text number {i}. " + "word " * int(rng.integers(1, 50)) for i in range(n)]
    ids = [f"corpus.jsonl:{i + 1}" for i in range(n)]
    raw = rng.normal(50, 15, (n, len(SPACE)))
    norm = rng.beta(2, 4, (n, len(SPACE)))
    return texts, ids, raw, norm


def probe_plan(**kw):
    base = dict(name="steer", corpus="seeds", goals=["formality", "text_length"], sources=40,
                requests_per_source=4, active_min=1, active_max=2, seed=99)
    base.update(kw)
    return SampledProbePlan(**base)


def test_drawn_probe_round_trip(con):
    texts, ids, raw, norm = corpus()
    plan = probe_plan()
    cols = [SPACE.index(g) for g in plan.goals]
    drawn = draw_probe(plan, norm[:, cols])
    saved = save_drawn_probe(con, "p1", plan, "space1", drawn,
                             texts=list(zip(ids, texts)),
                             raw={g: raw[:, j] for j, g in enumerate(SPACE)},
                             normalized={g: norm[:, j] for j, g in enumerate(SPACE)})
    assert saved.goals == SPACE
    # goals the probe does not request moves on are inactive in every row
    assert np.all(np.isnan(saved.delta[:, [0, 2]]))
    assert same(saved.delta[:, [1, 3]], drawn.delta)
    assert same(saved.source, norm[drawn.source_index])

    stored = load_probe(con, "p1")
    assert stored.name == "steer" and stored.space_hash == "space1"
    assert stored.auc == drawn.auc
    assert stored.info["probe_goals"] == plan.goals and stored.info["seed"] == 99
    assert_same_table(stored.table, saved)

    n_rows = 160
    assert con.execute("SELECT n_rows FROM probes WHERE probe_hash = 'p1'").fetchone() == (160,)
    assert con.execute("SELECT count(*) FROM probe_goals WHERE probe_hash = 'p1'"
                       ).fetchone() == (n_rows * 4,)
    # NULL (not NaN) marks inactive goals, so SQL can count them
    assert con.execute("SELECT count(*) FROM probe_goals WHERE probe_hash = 'p1' AND "
                       "delta IS NULL").fetchone() == (int(np.isnan(saved.delta).sum()),)
    # texts are stored once each, keyed by their hash
    assert con.execute("SELECT count(*) FROM texts").fetchone() == (40,)
    row = con.execute("SELECT r.text_hash, t.text FROM probe_rows r JOIN texts t "
                      "USING (text_hash) WHERE probe_hash = 'p1' AND row_id = 5").fetchone()
    assert row == (text_hash(saved.texts[5]), saved.texts[5])


def test_save_replaces_and_keeps_other_probes_and_texts(con):
    texts, ids, raw, norm = corpus(50)
    con.execute("INSERT INTO texts VALUES (?, ?)", [text_hash(texts[0]), texts[0]])
    base = ProbeTable(goals=SPACE, texts=texts[:10], text_ids=ids[:10], source=norm[:10],
                      delta=np.full((10, 4), np.nan), target=np.full((10, 4), np.nan))
    save_probe(con, "a", "first", None, base)
    save_probe(con, "b", "second", None, base)
    changed = ProbeTable(goals=SPACE, texts=texts[5:8], text_ids=[None] * 3, source=norm[5:8],
                         delta=np.full((3, 4), 0.2), target=norm[5:8] + 0.2,
                         source_raw=raw[5:8])
    save_probe(con, "a", "first", "s", changed, auc=0.61)
    assert_same_table(load_probe(con, "a").table, changed)
    assert_same_table(load_probe(con, "b").table, base)
    assert load_probe(con, "a").auc == 0.61
    assert load_probe(con, "b").table.source_raw is None
    assert con.execute("SELECT count(*) FROM probe_rows").fetchone() == (13,)
    assert con.execute("SELECT count(*) FROM texts").fetchone() == (10,)


def test_load_of_an_unknown_probe(con):
    with pytest.raises(StoreError, match="no probe with hash nope"):
        load_probe(con, "nope")


def test_table_from_drawn_needs_the_probe_goals(con):
    texts, ids, raw, norm = corpus(20)
    drawn = draw_probe(probe_plan(sources=5), norm[:, :2])
    with pytest.raises(ValueError, match="text_length"):
        table_from_drawn(drawn, texts, ids, ["formality"], norm[:, :1])


def cli(monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # main() rewrites sys.argv
    return main(list(argv))


def test_export_probe_writes_the_current_probe(tmp_path, monkeypatch, capsys):
    db = tmp_path / "store.duckdb"
    con = open_store(db)
    texts, ids, raw, norm = corpus()
    table = table_from_drawn(draw_probe(probe_plan(goals=SPACE), norm), texts, ids, SPACE,
                             norm, raw)
    save_probe(con, "old", "steer", None, table)
    newer = table_from_drawn(draw_probe(probe_plan(goals=SPACE, seed=5), norm), texts, ids,
                             SPACE, norm, raw)
    save_probe(con, "new", "steer", None, newer)
    con.execute("INSERT INTO current VALUES ('probe:steer', 'new')")
    con.close()

    out = tmp_path / "out" / "probe.csv"
    assert cli(monkeypatch, "export-probe", str(db), "-o", str(out)) == 0
    assert "wrote 160 rows of probe steer (new)" in capsys.readouterr().out
    back = read_reference_csv(out, SPACE)
    assert back.texts == newer.texts
    for name in ("source", "delta", "target", "source_raw"):
        assert same(getattr(back, name), getattr(newer, name)), name

    assert cli(monkeypatch, "export-probe", str(db), "-o", str(out), "--probe", "other") == 1
    assert "probe other has not been drawn yet: run `steerdsl run SPEC --until probe` first" \
        in capsys.readouterr().err


def test_export_probe_usage_errors(tmp_path, monkeypatch, capsys):
    assert cli(monkeypatch, "export-probe", str(tmp_path / "x.steer"), "-o", "o.csv") == 2
    assert "no such file" in capsys.readouterr().err

    db = tmp_path / "store.duckdb"
    con = open_store(db)
    con.close()
    assert cli(monkeypatch, "export-probe", str(db), "-o", str(tmp_path / "o.csv")) == 1
    assert "holds no probe yet" in capsys.readouterr().err

    con = open_store(db)
    texts, ids, raw, norm = corpus(10)
    table = ProbeTable(goals=SPACE, texts=texts, text_ids=ids, source=norm,
                       delta=np.full((10, 4), np.nan), target=np.full((10, 4), np.nan))
    for name in ("a", "b"):
        save_probe(con, name, name, None, table)
        con.execute("INSERT INTO current VALUES (?, ?)", [f"probe:{name}", name])
    con.close()
    assert cli(monkeypatch, "export-probe", str(db), "-o", str(tmp_path / "o.csv")) == 2
    assert "several probes (a, b): choose one with --probe NAME" in capsys.readouterr().err
    assert cli(monkeypatch, "export-probe", str(db), "-o", str(tmp_path / "o.csv"),
               "--probe", "b") == 0


SPEC = """
experiment exported {
  seed 7
  store "run/store.duckdb"
}

corpus demo {
  read "corpus.jsonl" text "text"
}

goals {
  reading_difficulty = flesch_kincaid_grade  normalize 2.8..12.9
  formality          = heylighen_dewaele     normalize 40.37..69.121634
  textual_diversity  = mtld                  normalize 44.84394871794872..128.54409583333333
  text_length        = token_count           normalize 78..1509
}

probe small from demo {
  sources 4 unweighted
  requests 2 per source
  active 1..2
  delta -0.7..0.7 deadzone 0.1
}
"""


def test_export_probe_from_a_spec(tmp_path, monkeypatch, capsys):
    steerdsl = pytest.importorskip("steerdsl")
    if not hasattr(steerdsl, "load"):
        pytest.skip("steerdsl.load (the spec front end) is not available yet")
    (tmp_path / "corpus.jsonl").write_text(
        "".join('{"text": "Text %d is here."}\n' % i for i in range(10)), encoding="utf-8")
    spec = tmp_path / "exported.steer"
    spec.write_text(SPEC, encoding="utf-8")
    out = tmp_path / "probe.csv"

    assert cli(monkeypatch, "export-probe", str(spec), "-o", str(out)) == 1
    assert (f"probe small has not been drawn yet (no store at {tmp_path / 'run' / 'store.duckdb'})"
            f": run `steerdsl run {spec} --until probe` first") in capsys.readouterr().err

    plan = steerdsl.load(str(spec)).plan()
    texts, ids, raw, norm = corpus(10)
    table = table_from_drawn(draw_probe(plan.probe("small"), norm), texts, ids, SPACE, norm,
                             raw)
    con = open_store(plan.experiment.store)
    probe_hash = plan.stage("probe:small").hash
    save_probe(con, probe_hash, "small", None, table)
    con.execute("INSERT INTO current VALUES ('probe:small', ?)", [probe_hash])
    con.close()

    assert cli(monkeypatch, "export-probe", str(spec), "-o", str(out)) == 0
    back = read_reference_csv(out, SPACE)
    assert back.texts == table.texts and same(back.delta, table.delta)
    assert cli(monkeypatch, "export-probe", str(spec), "-o", str(out), "--probe", "big") == 2
    assert "has no probe 'big'; its probes: small" in capsys.readouterr().err


def _store_with_probe(db):
    con = open_store(db)
    texts, ids, raw, norm = corpus(10)
    table = ProbeTable(goals=SPACE, texts=texts, text_ids=ids, source=norm,
                       delta=np.full((10, 4), np.nan), target=np.full((10, 4), np.nan))
    save_probe(con, "h", "p", None, table)
    con.execute("INSERT INTO current VALUES ('probe:p', 'h')")
    con.close()


def test_export_probe_never_writes_over_its_inputs(tmp_path, monkeypatch, capsys):
    db = tmp_path / "store.duckdb"
    _store_with_probe(db)
    (tmp_path / "corpus.jsonl").write_text('{"text": "A text."}\n', encoding="utf-8")
    spec = tmp_path / "exp.steer"
    spec.write_text(SPEC.replace("run/store.duckdb", db.name).replace("probe small", "probe p"),
                    encoding="utf-8")
    before = db.read_bytes(), spec.read_bytes()
    for source, target in ((db, db), (spec, spec), (spec, db)):
        assert cli(monkeypatch, "export-probe", str(source), "-o", str(target), "--force") == 2
        assert capsys.readouterr().err == (
            f"error: refusing to write the probe CSV over {target}: it is an input of this "
            "command; choose another -o\n")
    assert (db.read_bytes(), spec.read_bytes()) == before


def test_export_probe_replaces_only_probe_csv_files_unless_forced(tmp_path, monkeypatch,
                                                                 capsys):
    db = tmp_path / "store.duckdb"
    _store_with_probe(db)
    out = tmp_path / "probe.csv"
    assert cli(monkeypatch, "export-probe", str(db), "-o", str(out)) == 0
    assert cli(monkeypatch, "export-probe", str(db), "-o", str(out)) == 0  # its own kind
    results = tmp_path / "results.csv"  # the reference tool's results: output_ columns
    results.write_text("text,source_a,delta_a,target_a,output_a\nx,0.5,,,0.4\n")
    other = tmp_path / "data.csv"
    other.write_text("id,value\n1,2\n")
    for path in (results, other, tmp_path / "other.duckdb"):
        if not path.exists():
            path.write_bytes(db.read_bytes())
        before = path.read_bytes()
        assert cli(monkeypatch, "export-probe", str(db), "-o", str(path)) == 2
        assert capsys.readouterr().err.endswith(
            f"error: {path} exists and is not a probe CSV: choose another -o, or add --force "
            "to replace it\n")
        assert path.read_bytes() == before
    assert cli(monkeypatch, "export-probe", str(db), "-o", str(other), "--force") == 0
    assert other.read_text(encoding="utf-8").startswith("text,")


def test_export_probe_to_a_folder_or_an_unwritable_place(tmp_path, monkeypatch, capsys):
    db = tmp_path / "store.duckdb"
    _store_with_probe(db)
    assert cli(monkeypatch, "export-probe", str(db), "-o", str(tmp_path)) == 1
    assert capsys.readouterr().err == (f"error: cannot write the probe CSV to {tmp_path}: it "
                                       "is a folder; give a file name\n")
    assert cli(monkeypatch, "export-probe", str(db), "-o", "/proc/x.csv") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the probe CSV to /proc/x.csv: ")
    assert len(err.splitlines()) == 1
