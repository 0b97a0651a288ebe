"""Corpora: reading texts from files (DuckDB readers for csv, parquet and txt; `records` for
JSON and JSON Lines, stdlib only, shared with compile's counts), chunking, length filter,
dedupe."""
