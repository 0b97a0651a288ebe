"""METHOD.md section 5's worked values, through the store's SQL views on a real DuckDB file."""

from __future__ import annotations

import numpy as np
import pytest

from support.metrics_store import new_store, write_answers, write_probe

GOALS = ["rd", "td", "tl", "fm"]
NAN = float("nan")

# case -> (sources, output), only rd active with delta +0.3
CASES = {
    "perfect": ([0.5, 0.5, 0.5, 0.5], [0.8, 0.5, 0.5, 0.5]),
    "no move": ([0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]),
    "overshoot": ([0.3, 0.5, 0.5, 0.5], [0.95, 0.5, 0.5, 0.5]),
    "side effect only": ([0.5, 0.5, 0.5, 0.5], [0.5, 0.9, 0.5, 0.5]),
    "wrong way": ([0.5, 0.5, 0.5, 0.5], [0.2, 0.5, 0.5, 0.5]),
}

# The table exactly as printed in METHOD.md:
# SE bin / raw, MIS bin / raw, ORTH bin / raw, ORTH paper
PRINTED = {
    "perfect": ("0", "0", "0", "0", "0", "0", "0"),
    "no move": ("0.2857142857", "0.3", "0.99999993", "0.9999999333", "0.001224999806",
                "0.00111111095", "0.001058200903"),
    "overshoot": ("0.1428571429", "0.35", "0.499999965", "1.166666589", "4.083060625e-08",
                  "5.982629195e-08", "3.703444048e-08"),
    "side effect only": ("0.4040610178", "0.5", "0.99999993", "0.9999999333", "0.99990001",
                         "0.9999250056", "0.999895011"),
    "wrong way": ("0.5714285714", "0.6", "1.99999986", "1.999999867", "2.449754722e-07",
                  "2.221999773e-07", "2.221988661e-07"),
}
COLUMNS = ("steering_error", "steering_error_raw", "miscalibration", "miscalibration_raw",
           "orthogonality", "orthogonality_raw", "orthogonality_paper")


def _significant(printed: str) -> int:
    mantissa = printed.split("e")[0].replace("-", "").replace(".", "").lstrip("0")
    return len(mantissa)


def matches_printed(value: float, printed: str) -> bool:
    """True when `value` rounds to `printed` at the printed number of significant digits."""
    if float(printed) == 0.0:
        return abs(value) < 1e-12
    digits = _significant(printed)
    return float(f"{value:.{digits - 1}e}") == float(f"{float(printed):.{digits - 1}e}")


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    path = tmp_path_factory.mktemp("worked") / "store.duckdb"
    con = new_store(path)
    sources = np.array([c[0] for c in CASES.values()])
    delta = np.full_like(sources, NAN)
    delta[:, 0] = 0.3
    write_probe(con, GOALS, sources, delta)
    outputs = np.array([c[1] for c in CASES.values()])[:, None, :]
    write_answers(con, GOALS, outputs)
    rows = con.execute(f"SELECT row_id, {', '.join(COLUMNS)}, n_active, selected "
                       "FROM metrics ORDER BY row_id").fetchall()
    con.close()
    return {name: row for name, row in zip(CASES, rows)}


@pytest.mark.parametrize("case", list(CASES))
def test_worked_values(metrics, case):
    row = metrics[case]
    got = dict(zip(COLUMNS, row[1:8]))
    for column, printed in zip(COLUMNS, PRINTED[case]):
        assert matches_printed(got[column], printed), (case, column, got[column], printed)
    assert row[8] == 1  # n_active
    assert row[9] is True  # a single-sample intervention's one answer is selected


def test_comparison_helper_is_strict():
    assert matches_printed(0.2857142857142857, "0.2857142857")
    assert not matches_printed(0.2857142867, "0.2857142857")
    assert not matches_printed(1e-9, "0")
