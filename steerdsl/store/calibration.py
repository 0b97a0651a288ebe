"""The calibration fit of calibrate stages and the requests of calibrated generations (tables
calibration_points, calibration_fits, calibration_effects, calibration_requests)."""

from __future__ import annotations

from collections.abc import Sequence

from steerdsl.calibration.fit import BucketFit, Calibration, Fit, SideEffect
from steerdsl.calibration.words import Bucket
from steerdsl.store.bulk import insert_rows, transaction

_FITS = ["calib_hash", "model", "intervention", "goal", "direction", "words", "lo", "hi",
         "asked", "predicted", "points"]
_POINTS = ["calib_hash", "row_id", "sample", "goal", "requested", "realized", "fitted"]
_REQUESTS = ["gen_hash", "row_id", "goal", "requested", "asked", "words", "predicted"]


def save_fit(con, calib_hash: str, model: str, intervention: str, fit: Fit,
             points: Sequence[tuple]) -> None:
    """Replace the fit of a calibrate stage. points: (row_id, sample, goal, requested,
    realized, fitted)."""
    with transaction(con):
        for table in ("calibration_points", "calibration_fits", "calibration_effects"):
            con.execute(f"DELETE FROM {table} WHERE calib_hash = ?", [calib_hash])
        insert_rows(con, "calibration_points", _POINTS, [(calib_hash, *p) for p in points])
        insert_rows(con, "calibration_fits", _FITS, [
            (calib_hash, model, intervention, goal, b.sign, b.bucket.word, b.bucket.lo,
             b.bucket.hi, b.asked, b.predicted, b.points)
            for goal, g in fit.goals.items() for b in g.buckets])
        insert_rows(con, "calibration_effects",
                    ["calib_hash", "cause", "effect", "coefficient", "points"],
                    [(calib_hash, e.cause, e.effect, e.coefficient, e.points)
                     for e in fit.effects])


def load_calibration(con, calib_hash: str) -> Calibration:
    """What the requests need of a stored fit: per goal its bucket predictions, and the side
    effects."""
    buckets: dict[str, list[BucketFit]] = {}
    for goal, sign, word, lo, hi, predicted, points in con.execute(
            "SELECT goal, direction, words, lo, hi, predicted, points FROM calibration_fits "
            "WHERE calib_hash = ? ORDER BY goal, direction, lo", [calib_hash]).fetchall():
        buckets.setdefault(goal, []).append(BucketFit(sign, Bucket(word, lo, hi), predicted,
                                                      points))
    effects = [SideEffect(*row) for row in con.execute(
        "SELECT cause, effect, coefficient, points FROM calibration_effects "
        "WHERE calib_hash = ? ORDER BY cause, effect", [calib_hash]).fetchall()]
    return Calibration(buckets, effects)


def has_fit(con, calib_hash: str) -> bool:
    return con.execute("SELECT 1 FROM calibration_fits WHERE calib_hash = ? LIMIT 1",
                       [calib_hash]).fetchone() is not None


def save_requests(con, gen_hash: str, rows: Sequence[tuple]) -> None:
    """Record what a calibrated generation asks (replaced whole: the same every run).
    rows: (row_id, goal, requested, asked, words, predicted)."""
    with transaction(con):
        con.execute("DELETE FROM calibration_requests WHERE gen_hash = ?", [gen_hash])
        insert_rows(con, "calibration_requests", _REQUESTS, [(gen_hash, *r) for r in rows])
