"""Corpora: reading texts from files (DuckDB readers), chunking, length filter, dedupe."""
