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


@pytest.fixture(scope="session")
def ray_cluster():
    """A real two-node Ray cluster on 127.0.0.1 (tests/support/ray_cluster.py), one CPU per
    node, started once per session and stopped at its end; skips without the ray extra."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install steerdsl[ray]; "
                                      ".ci/run installs it)")
    import shutil
    import tempfile
    from pathlib import Path

    from support.ray_cluster import RayCluster

    # a short path: Ray's socket paths inside it must stay under 108 characters
    folder = Path(tempfile.mkdtemp(prefix="steerdsl-ray-"))
    cluster = None
    try:
        cluster = RayCluster(folder)
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
