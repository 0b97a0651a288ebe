"""Fixtures shared by test modules (a module may define its own of the same name)."""

from __future__ import annotations

import pytest

from steerdsl.store.db import open_store


@pytest.fixture
def con(tmp_path):
    """A new store (a real DuckDB file) open read-write."""
    c = open_store(tmp_path / "store.duckdb")
    yield c
    c.close()
