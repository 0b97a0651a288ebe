"""The reference CSV layout: exact round trip, clear errors."""

import csv

import numpy as np
import pytest

from steerdsl.errors import RunError
from steerdsl.reference.layout import read_reference_csv, write_reference_csv
from steerdsl.probe.table import ProbeTable

GOALS = ["reading_difficulty", "formality", "text_length"]

TEXTS = [
    "Plain text.",
    'Commas, "quotes", and\na line break',
    "Unicode: café, naïve, 東京 — and an emoji 🙂",
    "  leading and trailing spaces  ",
]


def random_table(rows=200, seed=0, raw=True) -> ProbeTable:
    rng = np.random.default_rng(seed)
    source = rng.random((rows, 3))
    source[0] = [0.0, 1.0, 0.5]
    delta = rng.uniform(-0.7, 0.7, (rows, 3))
    target = source + delta
    inactive = (target < 0) | (target > 1) | (rng.random((rows, 3)) < 0.3)
    delta[inactive] = np.nan
    target[inactive] = np.nan
    return ProbeTable(
        goals=GOALS,
        texts=[TEXTS[i % len(TEXTS)] for i in range(rows)],
        text_ids=[f"probe.csv:{i + 1}" for i in range(rows)],
        source=source, delta=delta, target=target,
        source_raw=rng.normal(50, 20, (rows, 3)) if raw else None,
    )


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("raw", [True, False])
def test_round_trip_is_exact(tmp_path, raw):
    table = random_table(raw=raw)
    path = tmp_path / "probe.csv"
    write_reference_csv(path, table)
    back = read_reference_csv(path, GOALS)
    assert back.goals == GOALS
    assert back.texts == table.texts
    assert back.text_ids == table.text_ids
    for name in ("source", "delta", "target"):
        assert same(getattr(back, name), getattr(table, name)), name
    if raw:
        assert same(back.source_raw, table.source_raw)
    else:
        assert back.source_raw is None
    # writing what was read gives the same bytes
    again = tmp_path / "again.csv"
    write_reference_csv(again, back)
    assert again.read_bytes() == path.read_bytes()


def test_layout_columns_and_empty_cells(tmp_path):
    table = random_table(rows=3)
    path = tmp_path / "probe.csv"
    write_reference_csv(path, table)
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    assert header == ["text", *GOALS, *(f"{p}_{g}" for p in ("source", "delta", "target")
                                        for g in GOALS)]
    inactive = np.isnan(table.delta)
    for r, row in enumerate(rows):
        for j, g in enumerate(GOALS):
            cell = row[header.index(f"delta_{g}")]
            assert (cell == "") == inactive[r, j]
            assert row[header.index(f"target_{g}")] == ("" if inactive[r, j]
                                                        else repr(float(table.target[r, j])))


def write_rows(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_extra_columns_ignored_and_raw_columns_optional(tmp_path):
    path = tmp_path / "p.csv"
    write_rows(path, ["id", "text", "source_a", "delta_a", "target_a", "a", "notes"],
               [["7", "hello", "0.25", "0.5", "0.75", "12.5", "x"],
                ["8", "world", "1", "", "", "", ""]])
    t = read_reference_csv(path, ["a"])
    assert t.texts == ["hello", "world"]
    assert same(t.source, np.array([[0.25], [1.0]]))
    assert same(t.delta, np.array([[0.5], [np.nan]]))
    assert same(t.target, np.array([[0.75], [np.nan]]))
    assert same(t.source_raw, np.array([[12.5], [np.nan]]))


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "p.csv"
    write_rows(path, ["text", "source_a", "target_a"], [["x", "0.5", "0.7"]])
    with pytest.raises(RunError) as e:
        read_reference_csv(path, ["a", "b"])
    msg = str(e.value)
    assert "missing columns: source_b, delta_a, delta_b, target_b" in msg
    assert "columns present: text, source_a, target_a" in msg


def test_bad_values_are_listed_with_rows(tmp_path):
    path = tmp_path / "p.csv"
    write_rows(path, ["text", "source_a", "delta_a", "target_a"], [
        ["ok", "0.5", "0.2", "0.7"],
        ["x", "abc", "", ""],
        ["x", "1.5", "", ""],
        ["x", "0.5", "0.2", ""],
        ["x", "0.5", "0.2", "0.7000001"],
        ["x", "0.5", "0.6", "1.1"],
        ["", "0.5", "", ""],
        ["x", "nan", "", ""],
    ])
    with pytest.raises(RunError) as e:
        read_reference_csv(path, ["a"])
    msg = str(e.value)
    assert "row 1" not in msg
    assert "row 2: source_a is not a number: 'abc'" in msg
    assert "row 3: source_a = 1.5 is outside [0, 1]" in msg
    assert "row 4: delta_a and target_a must both be empty" in msg
    assert "row 5: target_a = 0.7000001 is not source_a + delta_a = 0.7" in msg
    assert "row 6: target_a = 1.1 is outside [0, 1]" in msg
    assert "row 7: text is empty" in msg
    assert "row 8: source_a is not a finite number: 'nan'" in msg


def test_tolerance_is_1e_9(tmp_path):
    path = tmp_path / "p.csv"
    write_rows(path, ["text", "source_a", "delta_a", "target_a"],
               [["x", "0.5", "0.2", repr(0.7 + 0.9e-9)]])
    assert read_reference_csv(path, ["a"]).target[0, 0] == 0.7 + 0.9e-9
    write_rows(path, ["text", "source_a", "delta_a", "target_a"],
               [["x", "0.5", "0.2", repr(0.7 + 1.1e-9)]])
    with pytest.raises(RunError, match="is not source_a"):
        read_reference_csv(path, ["a"])


def test_many_problems_are_summarized(tmp_path):
    path = tmp_path / "p.csv"
    write_rows(path, ["text", "source_a", "delta_a", "target_a"],
               [["x", "2", "", ""]] * 25)
    with pytest.raises(RunError, match=r"\.\.\. and 15 more problems"):
        read_reference_csv(path, ["a"])


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(RunError, match="probe CSV not found"):
        read_reference_csv(tmp_path / "nope.csv", ["a"])
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(RunError, match="the file is empty"):
        read_reference_csv(tmp_path / "empty.csv", ["a"])
    (tmp_path / "header.csv").write_text("text,source_a,delta_a,target_a\n")
    with pytest.raises(RunError, match="a header but no rows"):
        read_reference_csv(tmp_path / "header.csv", ["a"])


@pytest.mark.parametrize("cell", ["1_0", "0_5", " 0x1", "1e", "--1", "0.5.1", "½", "٠.5"])
def test_only_plain_decimal_numbers(tmp_path, cell):
    """Python's float() takes underscores, other digits and the like; a CSV value does not."""
    path = tmp_path / "p.csv"
    write_rows(path, ["text", "source_a", "delta_a", "target_a"], [["x", cell, "", ""]])
    with pytest.raises(RunError) as e:
        read_reference_csv(path, ["a"])
    assert f"row 1: source_a is not a number: {cell.strip()!r}" in str(e.value)


@pytest.mark.parametrize("cell, value", [("0.5", 0.5), ("+.5", 0.5), ("5e-1", 0.5),
                                         (" 1 ", 1.0), ("0", 0.0), ("1.", 1.0), ("-0", 0.0),
                                         ("5E-01", 0.5)])
def test_decimal_numbers_read(tmp_path, cell, value):
    path = tmp_path / "p.csv"
    write_rows(path, ["text", "source_a", "delta_a", "target_a"], [["x", cell, "", ""]])
    assert read_reference_csv(path, ["a"]).source[0, 0] == value
