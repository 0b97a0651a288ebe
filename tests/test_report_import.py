"""The report on a store made by `steerdsl import-reference` (no run, no goal space, no plan)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from steerdsl.cli import main
from support.synthetic_store import WORKED_CASES

GOALS = ["rd", "td", "tl", "fm"]


def write_reference_csv(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text"] + [f"{p}_{g}" for p in ("source", "delta", "target", "output")
                               for g in GOALS] + ["output_text"])
        for case, (source, delta, output) in WORKED_CASES.items():
            target = ["" if d is None else s + d for s, d in zip(source, delta)]
            w.writerow([f"The {case} source <i>text</i>."] + source
                       + ["" if d is None else d for d in delta] + target + output
                       + [f"The {case} answer & more."])


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("imported")
    results = folder / "results.csv"
    write_reference_csv(results)
    db = folder / "ref.duckdb"
    for model in ("ref", "ref2"):
        assert main(["import-reference", str(results), "--db", str(db), "--model", model,
                     "--intervention", "direct"]) == 0
    return db


def test_report_of_an_imported_store(imported, capsys):
    out = imported.with_suffix(".html")
    assert main(["report", str(imported), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    table = re.search(r"<table class='headline'>(.*?)</table>", page, re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        rows[cells[0]] = cells[1:]
    # binned SE of the five worked cases: 0, 2/7, 1/7, 0.404, 4/7: median 2/7,
    # IQR 0.404 - 1/7 (linear quartiles)
    assert rows["ref"][:3] == ["direct", "5", "0.286 (0.261)"]
    assert rows["ref2"] == rows["ref"]
    assert "no run recorded" in page
    assert "the answers' goals: fm, rd, td, tl." in page
    # the unrequested td movement of the side-effect case, averaged over the rd requests
    assert re.search(r">0\.080<", page)
    # two example rows, each answered by both models, texts escaped
    assert len(re.findall(r"The \w+ answer &amp; more\.", page)) == 4
    assert len(re.findall(r"The \w+ source &lt;i&gt;text&lt;/i&gt;\.", page)) == 2
    for anchor in ("headline", "distributions", "side-effects", "flows", "scatter",
                   "examples"):
        assert f"id='s0-{anchor}'" in page
    assert "id='s0-best-of-n'" not in page  # one sample per request
