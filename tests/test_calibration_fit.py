"""The calibration fit (steerdsl.calibration): pool-adjacent-violators, word buckets, the
choice of what to ask, side effects and keeps; exact values."""

from __future__ import annotations

import numpy as np
import pytest

from steerdsl.calibration.fit import fit_calibration, isotonic
from steerdsl.calibration.requests import asked_deltas, calibrate_row, keep_threshold
from steerdsl.calibration.words import Bucket, buckets
from steerdsl.plan.model import Modifier, Phrase
from steerdsl.plan.prompts import DEFAULT_MODIFIERS
from steerdsl.prompts.builtin import builtin_prompt

NAN = float("nan")
PROMPT = builtin_prompt("direct", phrases={"a": Phrase(up="longer", down="shorter"),
                                           "b": Phrase(up="more formal", down="more informal")})


def test_isotonic_pools_adjacent_violators():
    x = np.array([0.3, 0.1, 0.2, 0.2, 0.4])
    y = np.array([0.1, 0.0, 0.5, 0.3, 0.6])
    kx, ky = isotonic(x, y)
    # x 0.1 -> 0.0; 0.2 -> mean(0.5, 0.3) = 0.4 > 0.1 at x 0.3: pooled (0.8 + 0.1) / 3 = 0.3
    assert kx.tolist() == [0.1, 0.2, 0.3, 0.4]
    assert ky.tolist() == pytest.approx([0.0, 0.3, 0.3, 0.6], abs=1e-15)
    assert (np.diff(ky) >= 0).all()


def test_isotonic_keeps_a_monotone_series():
    kx, ky = isotonic(np.array([-0.5, 0.2, 0.6]), np.array([-1.0, 0.4, 0.9]))
    assert ky.tolist() == [-1.0, 0.4, 0.9]


def test_word_buckets_of_the_default_modifiers():
    assert buckets(DEFAULT_MODIFIERS) == [Bucket("slightly", 0.0, 0.2), Bucket("", 0.2, 0.5),
                                          Bucket("much", 0.5, 1.0)]
    assert [b.asked for b in buckets(DEFAULT_MODIFIERS)] == pytest.approx([0.1, 0.35, 0.75])
    assert buckets([Modifier(word="very", when="above", threshold=0.4)]) == [
        Bucket("", 0.0, 0.4), Bucket("very", 0.4, 1.0)]


def overshooting_fit():
    """Goal a moves twice what its words mean (slightly 0.15, - 0.35, much 0.6); asking a
    moves b by -0.5 times a's move; b moves as asked."""
    meaning = {"slightly": 0.15, "": 0.35, "much": 0.6}
    requested, realized = [], []
    for d in (0.12, 0.15, 0.3, 0.4, 0.6, -0.15, -0.3, -0.45, -0.6):
        word = "slightly" if abs(d) < 0.2 else "much" if abs(d) > 0.5 else ""
        move = 2 * np.sign(d) * meaning[word]
        requested.append([d, NAN])
        realized.append([move, -0.5 * move])
    for d in (0.15, 0.3, -0.3):
        requested.append([NAN, d])
        realized.append([0.0, d])
    return fit_calibration(["a", "b"], np.array(requested), np.array(realized),
                           DEFAULT_MODIFIERS)


def test_the_fit_per_bucket_and_the_side_effects():
    fit = overshooting_fit()
    a = {(b.sign, b.bucket.word): (b.predicted, b.points) for b in fit.goals["a"].buckets}
    assert a[1, "slightly"] == (pytest.approx(0.3), 2)
    assert a[1, ""] == (pytest.approx(0.7), 2)
    assert a[1, "much"] == (pytest.approx(1.2), 1)
    assert a[-1, ""] == (pytest.approx(-0.7), 2)
    effects = {(e.cause, e.effect): e.coefficient for e in fit.effects}
    assert effects["b", "a"] == 0.0
    # sum(d * -move) / sum(d * d) over a's rows, exactly
    d = np.array([0.12, 0.15, 0.3, 0.4, 0.6, -0.15, -0.3, -0.45, -0.6])
    move = np.array([0.3, 0.3, 0.7, 0.7, 1.2, -0.3, -0.7, -0.7, -1.2])
    assert effects["a", "b"] == pytest.approx(float(np.sum(d * -0.5 * move) / np.sum(d * d)))


def test_requests_ask_what_lands_nearest_and_keep_the_side_effect():
    calibration = overshooting_fit().calibration()
    requests = calibrate_row({"a": 0.35, "b": None}, calibration, PROMPT, keep_threshold(0.1))
    move, keep = requests
    # "slightly longer" lands at 0.3, nearest 0.35 ("longer" would land at 0.7)
    assert (move.goal, move.requested, move.asked, move.words) == ("a", 0.35, 0.1,
                                                                    "slightly longer")
    assert move.predicted == pytest.approx(0.3)
    assert (keep.goal, keep.requested, keep.asked, keep.words) == (
        "b", None, None, "keep b unchanged")
    assert asked_deltas(requests) == ({"a": 0.1}, ("b",))


def test_a_goal_without_a_fit_is_asked_as_drawn():
    calibration = overshooting_fit().calibration()
    calibration.buckets.pop("b")
    (move,) = calibrate_row({"a": None, "b": -0.3}, calibration, PROMPT, 0.05)
    assert (move.asked, move.words, move.predicted) == (-0.3, "more informal", None)


def test_the_fit_is_the_same_every_time():
    a, b = overshooting_fit(), overshooting_fit()
    assert a.effects == b.effects
    assert [x.predicted for x in a.goals["a"].buckets] == \
        [x.predicted for x in b.goals["a"].buckets]
