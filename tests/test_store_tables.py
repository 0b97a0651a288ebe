"""The store's small table modules: goal space bounds, stage bookkeeping, call counts, and the
views following `current` by stage hash."""

import numpy as np

from steerdsl.probe.table import ProbeTable
from steerdsl.store.call_stats import answer_counts, error_kinds, failed_calls, spent_on
from steerdsl.store.calls import CallRecord, CallWriter
from steerdsl.store.generations import current_generations_over, register_generation
from steerdsl.store.probes import current_probes, save_probe
from steerdsl.store.space import load_bounds, save_space
from steerdsl.store.stages import (current_hash, done_hashes, is_done, keep_current, mark_done,
                                   set_current)


def test_space_round_trip_and_replace(con):
    assert load_bounds(con, "s1") == {}
    save_space(con, "s1", [(0, "b", "m-b", 0.0, 1.0), (1, "a", "m-a", -2.5, 7.0)])
    assert load_bounds(con, "s1") == {"b": (0.0, 1.0), "a": (-2.5, 7.0)}
    assert list(load_bounds(con, "s1")) == ["b", "a"]  # in the space's order
    assert load_bounds(con, "s1", {"a": "m-a", "b": "other"}) == {"a": (-2.5, 7.0)}
    save_space(con, "s1", [(0, "a", "m-a", 1.0, 2.0)])
    assert load_bounds(con, "s1") == {"a": (1.0, 2.0)}
    assert load_bounds(con, "s2") == {}


def test_stage_bookkeeping(con):
    assert done_hashes(con) == set() and not is_done(con, "h1")
    mark_done(con, "space", "h1", {"goals": 2})
    mark_done(con, "space", "h1")  # again: still one row
    assert done_hashes(con) == {"h1"} and is_done(con, "h1")
    set_current(con, "probe:p", "h2")
    set_current(con, "probe:p", "h3")
    set_current(con, "space", "h1")
    assert current_hash(con, "probe:p") == "h3"
    keep_current(con, ["space"])
    assert current_hash(con, "probe:p") is None and current_hash(con, "space") == "h1"


def _write_calls(con, gen_hash, records):
    writer = CallWriter(con, gen_hash)
    for r in records:
        writer.add(r)
    writer.flush()


def test_call_counts(con):
    _write_calls(con, "g1", [
        CallRecord(0, 0, "p", "ok", answer="x", cost=0.5),
        CallRecord(1, 0, "p", "error", error="refused", error_kind="fatal"),
        CallRecord(2, 0, "p", "error", error="slow b", error_kind="timeout", attempts=3),
        CallRecord(3, 0, "p", "error", error="slow a", error_kind="timeout"),
        CallRecord(4, 0, "p", "error", error="?")])
    _write_calls(con, "g2", [CallRecord(0, 0, "p", "ok", answer="y", cost=2.0)])
    assert answer_counts(con, ["g1", "g3"]) == {"g1": (1, 4)}
    assert error_kinds(con, "g1") == [("timeout", 2, "slow a", 3), ("fatal", 1, "refused", 1),
                                      ("retry", 1, "?", 1)]
    assert error_kinds(con, "g2") == []
    assert (failed_calls(con, "g1"), failed_calls(con, "g2")) == (4, 0)
    assert spent_on(con, ["g2"]) == 2.0
    assert spent_on(con, ["g1", "g2", "g3"]) == 2.5


def _probe(con, probe_hash, name):
    table = ProbeTable(goals=["a"], texts=["t"], text_ids=["f:1"], source=np.array([[0.5]]),
                       delta=np.array([[0.1]]), target=np.array([[0.6]]))
    save_probe(con, probe_hash, name, None, table)


def test_views_follow_current_hashes(con):
    _probe(con, "p1", "first")
    register_generation(con, "g1", "m", "i", "p1", "{}")
    register_generation(con, "g2", "m", "j", "p1", "{}")
    set_current(con, "generate:m/i", "g1")
    assert current_generations_over(con, "p1") == []  # its probe is not current
    # A probe renamed in the spec keeps its hash (names are not part of a probe's content):
    # its generations still count, under the name it was stored with.
    set_current(con, "probe:renamed", "p1")
    assert current_probes(con) == {"first": "p1"}
    assert current_generations_over(con, "p1") == [("m", "i")]
    assert con.execute("SELECT probe FROM current_generations").fetchall() == [("first",)]
