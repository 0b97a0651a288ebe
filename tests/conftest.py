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


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    """A tiny random Llama checkpoint folder (tests/support/tiny_llama.py), built once per
    session; tests that use it skip without the training extra."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from support.tiny_llama import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
