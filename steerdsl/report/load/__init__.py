"""What the report shows, read from a store through its public views and tables.

Everything is aggregated (or subsampled, deterministically) in SQL so a store of any size gives a
small report. Only selected answers count (the best-of-N pick; the single answer otherwise),
except in the best-of-N curves, which recompute the pick over the first k samples.
"""

from __future__ import annotations

from steerdsl.report.data import StoreData, Variant
from steerdsl.report.load.calibration import load_calibration
from steerdsl.report.load.examples import load_examples
from steerdsl.report.load.feedback import load_feedback
from steerdsl.report.load.grounding import load_flagged, load_grounding
from steerdsl.report.load.header import load_header
from steerdsl.report.load.metrics import load_best_of_n, load_distributions, load_headline
from steerdsl.report.load.movement import load_flows, load_scatters, load_side_effects
from steerdsl.report.load.training import load_training
from steerdsl.report.load.views import METRICS_TABLE, materialize, rows


def load_store(con, path: str, variant: Variant) -> StoreData:
    con.execute("SET enable_progress_bar = false")
    materialize(con)
    if not rows(con, f"SELECT 1 FROM {METRICS_TABLE} LIMIT 1"):
        from steerdsl.errors import StoreError
        from steerdsl.store.progress import no_results_message

        raise StoreError(no_results_message(con, path))
    header = load_header(con, path)
    goals = [g.name for g in header.goals]
    return StoreData(header=header, headline=load_headline(con, variant),
                     distributions=load_distributions(con, variant),
                     side_effects=load_side_effects(con), flows=load_flows(con, goals),
                     scatters=load_scatters(con, goals), best_of_n=load_best_of_n(con, variant),
                     examples=load_examples(con, header.groups, variant),
                     grounding=load_grounding(con), flagged=load_flagged(con, header.groups),
                     training=load_training(con), calibration=load_calibration(con, goals),
                     feedback=load_feedback(con, variant))
