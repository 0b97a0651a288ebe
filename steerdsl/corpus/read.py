"""Reading a corpus: its files through DuckDB's readers, then chunking, length filter, dedupe.

Order is deterministic: the corpus's `read` sources in plan order, each source's files sorted
by path, rows in file order. Texts are stripped of surrounding whitespace; a missing, null or
empty text is skipped (and counted). A text that is not a string (a number, a list, an
object in JSON; a typed parquet column) is an error listing the records, never cast into one.
JSON and JSON Lines are read with the standard library (steerdsl.records), csv, parquet
and txt through DuckDB's readers. The filters then run in this order:
1. chunking into paragraphs of N sentences (steerdsl.corpus.chunk), when asked;
2. length in words (whitespace-separated), min and max inclusive;
3. dedupe: exact text (already stripped), the first occurrence is kept.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from steerdsl import records
from steerdsl.records import MAX_LISTED
from steerdsl.errors import RunError
from steerdsl.plan.model import CorpusPlan, CorpusSource
from steerdsl.words import count

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class CorpusText:
    text_id: str  # "<file>:<row>" (1-based record number), "<file>:<row>:c<k>" for chunk k
    text: str
    label: str | None


@dataclass
class CorpusStats:
    """How many texts were read and how many each step removed or added."""

    files: int = 0
    read: int = 0
    empty: int = 0
    chunks_added: int = 0  # paragraphs beyond the first of each chunked text
    too_short: int = 0
    too_long: int = 0
    duplicates: int = 0
    kept: int = 0
    per_file: dict[str, int] = field(default_factory=dict)
    no_records: list[str] = field(default_factory=list)  # files that hold no record at all


def read_corpus(plan: CorpusPlan) -> list[CorpusText]:
    """The corpus's texts after filters; RunError on a missing file or column, or when no text
    is left (with how many texts each filter removed)."""
    return read_corpus_with_stats(plan)[0]


def read_corpus_with_stats(plan: CorpusPlan) -> tuple[list[CorpusText], CorpusStats]:
    import duckdb  # heavy: runtime only

    stats = CorpusStats()
    files = [(source, path) for source in plan.sources for path in _source_files(plan, source)]
    names = _display_names([path for _, path in files])
    stats.files = len(files)

    texts: list[CorpusText] = []
    con = duckdb.connect(":memory:")
    try:
        for source, path in files:
            n_before = len(texts)
            row = 0
            for row, (text, label) in enumerate(_read_file(con, plan, source, path), start=1):
                stats.read += 1
                text = text.strip() if text is not None else ""
                if not text:
                    stats.empty += 1
                    continue
                texts.append(CorpusText(f"{names[path]}:{row}", text, label))
            stats.per_file[names[path]] = len(texts) - n_before
            if row == 0:
                stats.no_records.append(names[path])
    finally:
        con.close()

    if plan.chunk_sentences is not None:
        texts = _chunk(texts, plan.chunk_sentences, stats)

    kept: list[CorpusText] = []
    seen: set[str] = set()
    for t in texts:
        n_words = len(t.text.split())
        if plan.min_words is not None and n_words < plan.min_words:
            stats.too_short += 1
        elif plan.max_words is not None and n_words > plan.max_words:
            stats.too_long += 1
        elif plan.dedupe and t.text in seen:
            stats.duplicates += 1
        else:
            seen.add(t.text)
            kept.append(t)
    stats.kept = len(kept)
    if not kept:
        raise RunError(f"corpus {plan.name}: no text left after filters ({_describe(plan, stats)})")
    return kept, stats


def _describe(plan: CorpusPlan, stats: CorpusStats) -> str:
    parts = [f"read {count(stats.read, 'text')} from {count(stats.files, 'file')}",
             f"{stats.empty} empty"]
    if stats.no_records:
        n = len(stats.no_records)
        parts.append(f"{count(n, 'file')} {'holds' if n == 1 else 'hold'} no records: "
                     + ", ".join(stats.no_records[:MAX_LISTED])
                     + (f" and {len(stats.no_records) - MAX_LISTED} more"
                        if len(stats.no_records) > MAX_LISTED else ""))
    if plan.chunk_sentences is not None:
        parts.append(f"chunking added {stats.chunks_added} paragraphs")
    if plan.min_words is not None:
        parts.append(f"{stats.too_short} removed as shorter than {plan.min_words} words")
    if plan.max_words is not None:
        parts.append(f"{stats.too_long} removed as longer than {plan.max_words} words")
    if plan.dedupe:
        parts.append(f"{stats.duplicates} removed as duplicates")
    return "; ".join(parts)


def _chunk(texts: list[CorpusText], sentences: int, stats: CorpusStats) -> list[CorpusText]:
    from steerdsl.corpus.chunk import split_paragraphs

    out: list[CorpusText] = []
    for t, paragraphs in zip(texts, split_paragraphs([t.text for t in texts], sentences)):
        if len(paragraphs) == 1 and paragraphs[0] == t.text:
            out.append(t)
            continue
        stats.chunks_added += len(paragraphs) - 1
        out.extend(CorpusText(f"{t.text_id}:c{k}", p, t.label)
                   for k, p in enumerate(paragraphs, start=1))
    return out


def _source_files(plan: CorpusPlan, source: CorpusSource) -> list[str]:
    """The files a source matched at compile time (sorted); the pattern again if none were
    recorded. Every file must still exist."""
    paths = sorted({f.path for f in source.files})
    if not paths:
        paths = sorted(glob.glob(source.pattern, recursive=True))
    if not paths:
        if _GLOB_CHARS & set(source.pattern):
            raise RunError(f"corpus {plan.name}: no file matches {source.pattern}")
        raise RunError(f"corpus {plan.name}: file not found: {source.pattern}")
    for path in paths:
        if not os.path.isfile(path):
            raise RunError(f"corpus {plan.name}: file not found: {path}")
    return paths


def _display_names(paths: list[str]) -> dict[str, str]:
    """Short, unique names for text ids: paths relative to the files' common folder."""
    if not paths:
        return {}
    common = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
    return {p: Path(os.path.relpath(os.path.abspath(p), common)).as_posix() for p in paths}


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read_file(con, plan: CorpusPlan, source: CorpusSource, path: str
               ) -> Iterator[tuple[str | None, str | None]]:
    """(text, label) per record of one file, in file order."""
    if source.format in ("jsonl", "json"):
        yield from _read_json(plan, source, path)
        return
    import duckdb

    try:
        if source.format == "txt":
            # One text per file.
            rows = con.execute(f"SELECT content FROM read_text({_sql_str(path)})").fetchall()
            yield from ((r[0], None) for r in rows)
            return
        reader = _reader_sql(source, path)
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        types = {name: str(type_) for name, type_, *_ in described}
        selected = [source.text_field] + ([source.label_field] if source.label_field else [])
        for name in selected:
            if name not in types:
                raise RunError(_missing_column(plan, path, name, list(types)))
        if types[source.text_field] != "VARCHAR":
            # A typed column (parquet) of numbers or lists holds no texts: casting would
            # invent them.
            raise RunError(f"corpus {plan.name}: {path}: column '{source.text_field}' holds "
                           f"{types[source.text_field]} values, not text")
        select = ", ".join(f'CAST("{c.replace(chr(34), chr(34) * 2)}" AS VARCHAR)'
                           for c in selected)
        rows = con.execute(f"SELECT {select} FROM {reader}").fetchall()
    except duckdb.Error as e:
        raise RunError(f"corpus {plan.name}: cannot read {path} as {source.format}: "
                       f"{_cause(path, e)}") from None
    if source.label_field:
        yield from rows
    else:
        yield from ((r[0], None) for r in rows)


def _reader_sql(source: CorpusSource, path: str) -> str:
    p = _sql_str(path)
    if source.format == "csv":
        # all_varchar: a text column that happens to look numeric stays text; header: the
        # columns are named by the spec, so the first row must name them. The delimiter comes
        # from the header line: sniffed from the data, a one-column file whose texts hold
        # semicolons would be split on them.
        with open(path, "rb") as fh:
            delim = records.csv_delimiter(records.first_line(fh.read(1 << 16)))
        return (f"read_csv({p}, header = true, all_varchar = true, "
                f"delim = {_sql_str(delim)})")
    if source.format == "parquet":
        return f"read_parquet({p})"
    raise AssertionError(source.format)


def _cause(path: str, error: Exception) -> str:
    """Why DuckDB could not read a file: a file that is not UTF-8 says so (DuckDB's own
    message only gives the line), else DuckDB's message without its hints and dumps."""
    try:
        with open(path, "rb") as fh:
            problem = records.utf8_problem(fh.read())
    except OSError:
        problem = None
    if problem is not None:
        return problem
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return "; ".join(lines[:2]) if lines else type(error).__name__


def _read_json(plan: CorpusPlan, source: CorpusSource, path: str
               ) -> Iterator[tuple[str | None, str | None]]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        found, keys = records.read_json_records(data, source.format, source.text_field,
                                                source.label_field)
    except OSError as e:
        raise RunError(f"corpus {plan.name}: cannot read {path}: {e.strerror or e}") from None
    except records.BadRecords as e:
        raise RunError(f"corpus {plan.name}: cannot read {path} as {source.format}: "
                       f"{e}") from None
    if found:
        for name in [source.text_field] + ([source.label_field] if source.label_field else []):
            if name not in keys:
                raise RunError(_missing_column(plan, path, name, keys))
    yield from ((r.text, r.label) for r in found)


def _missing_column(plan: CorpusPlan, path: str, name: str, columns: list[str]) -> str:
    msg = f"corpus {plan.name}: {path} has no column '{name}'; its columns are: " + (
        ", ".join(columns) if columns else "(none)")
    near = [c for c in columns if c.lower() == name.lower()]
    if near:
        msg += f" (did you mean '{near[0]}'?)"
    return msg
