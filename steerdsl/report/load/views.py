"""The store's documented views as the report reads them.

Evaluating the metrics view is the expensive part of a report (seconds on 100k answers), so
it is evaluated once into a temporary table (allowed on a read-only connection), with the
answers that count: the selected ones (and, when a judge grounds a generation, only its grounded
ones, as in the summary view).
"""

from __future__ import annotations

from steerdsl.report.data import Variant

METRICS_TABLE = "report_metrics"
SELECTED_TABLE = "report_selected"


def materialize(con) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {METRICS_TABLE} AS SELECT * FROM metrics")
    # The summary view reads `metrics` by name, and temp objects are looked up first: point it
    # at the evaluated rows instead of evaluating the whole view a second time.
    con.execute(f"CREATE OR REPLACE TEMP VIEW metrics AS SELECT * FROM {METRICS_TABLE}")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {SELECTED_TABLE} AS
        SELECT a.* FROM answers a JOIN {METRICS_TABLE} m USING (gen_hash, row_id, sample)
        WHERE m.selected AND coalesce(m.grounded,
                                      m.gen_hash NOT IN (SELECT gen_hash FROM groundings))""")


def metric_column(metric: str, variant: Variant) -> str:
    return metric if variant == "binned" else f"{metric}_raw"


def rows(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()
