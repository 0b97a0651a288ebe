"""Review through a file: export the queue as CSV (one row per item, an empty decision
column), import the decisions filled in. An import is checked whole before anything is
written: every problem is reported with its line, and then nothing is recorded."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from steerdsl.errors import RunError
from steerdsl.outputs import OutputKind
from steerdsl.store.reviews import DECISIONS, ReviewItem

COLUMNS = ("id", "model", "intervention", "row_id", "sample", "verdict", "rationale", "source",
           "rewrite", "decision")

# An existing file is replaced only with --force (the commands check that themselves).
REVIEW_CSV = OutputKind("the review file", "a file steerdsl may replace",
                        lambda path: False)


def write_review_csv(path: Path, items: list[ReviewItem]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i in items:
            writer.writerow([i.id, i.model, i.intervention, i.row_id, i.sample,
                             i.verdict_label, i.explanation, i.source or "", i.rewrite or "",
                             ""])


@dataclass(frozen=True)
class ImportedDecisions:
    decisions: list[tuple[ReviewItem, str]]  # (item, 'approve' | 'reject')
    blank: int  # rows left without a decision (skipped)


def read_review_csv(path: Path, items: list[ReviewItem]) -> ImportedDecisions:
    """The decisions of a filled-in review file, or RunError listing every problem by line.

    `items`: every item that needs review (decided or not), so a file imported twice, or
    after some decisions were made in the terminal, is accepted (the latest decision counts).
    """
    by_id = {i.id: i for i in items}
    problems: list[str] = []
    seen: dict[str, int] = {}
    decisions: list[tuple[ReviewItem, str]] = []
    blank = 0
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise RunError(f"{path} is empty: expected a header with columns id and "
                               "decision (from `steerdsl review SPEC --export FILE`)")
            names = [h.strip().lower() for h in header]
            missing = [c for c in ("id", "decision") if c not in names]
            if missing:
                raise RunError(f"{path}: line 1: no column {' and '.join(missing)} (the file "
                               "`steerdsl review SPEC --export FILE` writes has them)")
            id_at, decision_at = names.index("id"), names.index("decision")
            while True:
                line = reader.line_num + 1  # a record may span lines (texts with newlines)
                row = next(reader, None)
                if row is None:
                    break
                if not any(cell.strip() for cell in row):
                    continue
                item_id = _cell(row, id_at)
                decision = _cell(row, decision_at).lower()
                if item_id in seen:
                    problems.append(f"line {line}: id {item_id!r} again (first on line "
                                    f"{seen[item_id]})")
                    continue
                seen[item_id] = line
                if item_id not in by_id:
                    problems.append(f"line {line}: unknown id {item_id!r} (not an item of "
                                    "this spec's review)")
                if decision and decision not in DECISIONS:
                    problems.append(f"line {line}: decision {decision!r} is not approve, "
                                    "reject or empty (skip)")
                if problems:
                    continue
                if decision:
                    decisions.append((by_id[item_id], decision))
                else:
                    blank += 1
    except OSError as e:
        raise RunError(f"cannot read {path}: {e.strerror or e}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise RunError(f"{path} is not a UTF-8 CSV file: {e}") from None
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"]
                                 if len(problems) > 20 else [])
        raise RunError(f"{path}: {len(problems)} problem(s), nothing recorded:\n  "
                       + "\n  ".join(shown))
    return ImportedDecisions(decisions, blank)


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""
