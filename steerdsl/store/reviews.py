"""Table `reviews`: a person's decisions on groundedness verdicts (`steerdsl review`), and the
review queue read from the `grounding` view.

A decision is keyed like the verdicts it decides (judge_id, source_hash, answer_hash), so the
queue holds one item per key: the same answer text of the same source, met by the same judge
in two places (two samples, two interventions), is one decision. Every decision is committed
the moment it is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

DECISIONS = ("approve", "reject")

# One row per distinct key among the answers that need review, at its first place in the
# order model, intervention, row_id, sample. The id is short and stable (a hash of the key),
# so an exported file still names the same items after other decisions or another run.
_ITEMS = """
WITH needing AS (
    SELECT *, row_number() OVER (PARTITION BY judge_id, source_hash, answer_hash
                                 ORDER BY model, intervention, row_id, sample) AS place
    FROM grounding
    WHERE needs_review
)
SELECT substr(sha256(n.judge_id || ':' || n.source_hash || ':' || n.answer_hash), 1, 12)
           AS id,
       n.judge_id, n.source_hash, n.answer_hash, n.model, n.intervention, n.row_id, n.sample,
       n.verdict, n.parsed, n.rationale,
       (SELECT string_agg(v.raw, ' | ' ORDER BY v.swapped) FROM verdicts v
        WHERE v.judge_id = n.judge_id AND v.source_hash = n.source_hash
          AND v.answer_hash = n.answer_hash AND v.status = 'ok') AS raw,
       s.text AS source, a.text AS rewrite, n.decision
FROM needing n
LEFT JOIN texts s ON s.text_hash = n.source_hash
LEFT JOIN texts a ON a.text_hash = n.answer_hash
WHERE n.place = 1 {pending}
ORDER BY n.model, n.intervention, n.row_id, n.sample
"""


@dataclass(frozen=True)
class ReviewItem:
    id: str
    judge_id: str
    source_hash: str
    answer_hash: str
    model: str
    intervention: str
    row_id: int
    sample: int
    verdict: str | None  # 'yes' | 'no' | None: unparsed, or the two orders disagree
    parsed: bool
    rationale: str | None
    raw: str | None  # the judge's answer(s) as they came
    source: str | None
    rewrite: str | None
    decision: str | None

    @property
    def verdict_label(self) -> str:
        if self.verdict is not None:
            return self.verdict
        return "orders disagree" if self.parsed else "unparsed"

    @property
    def explanation(self) -> str:
        """The rationale, or the judge's raw answer when there is none (unparsed)."""
        return self.rationale or self.raw or ""


def review_items(con, pending_only: bool = True) -> list[ReviewItem]:
    """The items that need a person, in a stable order; only the undecided ones unless
    pending_only is False."""
    sql = _ITEMS.format(pending="AND n.decision IS NULL" if pending_only else "")
    return [ReviewItem(*row) for row in con.execute(sql).fetchall()]


def grounded_generations(con) -> int:
    """How many current generations have a judge (rows in `groundings`)."""
    return con.execute("SELECT count(*) FROM current_generations "
                       "WHERE gen_hash IN (SELECT gen_hash FROM groundings)").fetchone()[0]


def record_decision(con, item: ReviewItem, decision: str) -> None:
    """Write one decision now (its own transaction): nothing decided is lost on a kill."""
    record_decisions(con, [(item, decision)])


def record_decisions(con, decisions: Iterable[tuple[ReviewItem, str]]) -> int:
    """Write decisions in one transaction (all or none); the latest decision of a key counts."""
    at = datetime.now(timezone.utc).replace(tzinfo=None)  # TIMESTAMP columns hold UTC
    rows = []
    for item, decision in decisions:
        if decision not in DECISIONS:
            raise ValueError(f"not a decision: {decision!r}")
        rows.append([item.judge_id, item.source_hash, item.answer_hash, decision, at])
    if not rows:
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        con.executemany("INSERT OR REPLACE INTO reviews (judge_id, source_hash, answer_hash, "
                        "decision, decided_at, note) VALUES (?, ?, ?, ?, ?, NULL)", rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(rows)


def grounding_counts(con) -> list[dict]:
    """The `grounding_summary` view, one dict per grounded model x intervention."""
    cursor = con.execute("SELECT * FROM grounding_summary ORDER BY model, intervention")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
