"""Calibrated interventions: requested versus realized movement before calibration (views
calibration_observations) and after (the selected answers of the calibrated generation)."""

from __future__ import annotations

from steerdsl.report.data import CalibrationPanel
from steerdsl.report.load.movement import MAX_POINTS
from steerdsl.report.load.views import SELECTED_TABLE, rows


def load_calibration(con, goals: list[str]) -> dict[tuple[str, str], list[CalibrationPanel]]:
    before = _points(con, """
        SELECT model, intervention, goal, requested, realized FROM calibration_observations
        WHERE requested IS NOT NULL AND realized IS NOT NULL""")
    if not before:
        return {}
    fits: dict[tuple, list[tuple[float, float]]] = {}
    for m, i, g, x, y in rows(con, """
            SELECT DISTINCT model, intervention, goal, requested, fitted
            FROM calibration_observations WHERE fitted IS NOT NULL ORDER BY ALL"""):
        fits.setdefault((m, i, g), []).append((x, y))
    after = _points(con, f"""
        SELECT model, intervention, goal, delta, output - source FROM {SELECTED_TABLE}
        WHERE delta IS NOT NULL AND output IS NOT NULL""")
    order = {g: k for k, g in enumerate(goals)}
    out: dict[tuple[str, str], list[CalibrationPanel]] = {}
    for (m, i, g), points in sorted(before.items(),
                                    key=lambda kv: (kv[0][:2], order.get(kv[0][2], 99))):
        out.setdefault((m, i), []).append(CalibrationPanel(
            g, points, fits.get((m, i, g), []), after.get((m, i, g), [])))
    return out


def _points(con, sql: str) -> dict[tuple, list[tuple[float, float]]]:
    """(model, intervention, goal) -> (x, y), at most MAX_POINTS each, picked by a hash."""
    out: dict[tuple, list[tuple[float, float]]] = {}
    for m, i, g, x, y in rows(con, f"""
            SELECT * FROM ({sql}) t(model, intervention, goal, x, y)
            QUALIFY row_number() OVER (PARTITION BY model, intervention, goal
                                       ORDER BY md5(concat_ws(':', x, y))) <= ?
            ORDER BY ALL""", [MAX_POINTS]):
        out.setdefault((m, i, g), []).append((x, y))
    return out
