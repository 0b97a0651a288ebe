"""Reading corpora through DuckDB: formats, order, ids, filters, chunking, errors."""

import hashlib
import json

import duckdb
import pytest

from steerdsl.corpus.read import read_corpus, read_corpus_with_stats
from steerdsl.errors import RunError
from steerdsl.plan.model import CorpusPlan, CorpusSource, FileRef


def ref(path) -> FileRef:
    data = path.read_bytes()
    return FileRef(path=str(path), sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def source(pattern, fmt, text="text", label=None, files=None) -> CorpusSource:
    return CorpusSource(pattern=str(pattern), format=fmt, text_field=text, label_field=label,
                        files=[ref(f) for f in files] if files is not None else [])


def corpus(*sources, **kw) -> CorpusPlan:
    return CorpusPlan(name="seeds", sources=list(sources), **kw)


RECORDS = [
    {"text": "  The first text has exactly seven words.  ", "source": "news", "n": 1},
    {"text": "Short one.", "source": "forum", "n": 2},
    {"text": "", "source": "forum", "n": 3},
    {"text": "The first text has exactly seven words.", "source": "dup", "n": 4},
    {"text": "A third, rather longer text, with eleven words in it, all told.",
     "source": None, "n": 5},
]
TEXTS = [r["text"].strip() for r in RECORDS]


def write_jsonl(path, records=RECORDS):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_via_duckdb(path, fmt, records=RECORDS):
    """csv / parquet / json written by DuckDB itself from the same records."""
    src = write_jsonl(path.with_suffix(".src.jsonl"), records)
    options = {"csv": "(FORMAT csv, HEADER true)", "parquet": "(FORMAT parquet)",
               "json": "(FORMAT json, ARRAY true)"}[fmt]
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json('{src}', format = 'newline_delimited')) "
                f"TO '{path}' {options}")
    con.close()
    src.unlink()
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "json"])
def test_every_format_reads_the_same_texts_in_file_order(tmp_path, fmt):
    path = tmp_path / f"corpus.{fmt}"
    write_jsonl(path) if fmt == "jsonl" else write_via_duckdb(path, fmt)
    texts, stats = read_corpus_with_stats(corpus(source(path, fmt, label="source",
                                                         files=[path])))
    assert [(t.text_id, t.text, t.label) for t in texts] == [
        (f"corpus.{fmt}:1", TEXTS[0], "news"),
        (f"corpus.{fmt}:2", TEXTS[1], "forum"),
        (f"corpus.{fmt}:4", TEXTS[3], "dup"),
        (f"corpus.{fmt}:5", TEXTS[4], None),
    ]
    assert (stats.read, stats.empty, stats.kept) == (5, 1, 4)


def test_numeric_looking_csv_text_stays_text(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('text,label\n007,1\n"3.50",2\n', encoding="utf-8")
    texts = read_corpus(corpus(source(path, "csv", label="label", files=[path])))
    assert [(t.text, t.label) for t in texts] == [("007", "1"), ("3.50", "2")]


def test_length_filter_and_dedupe(tmp_path):
    path = write_jsonl(tmp_path / "corpus.jsonl")
    texts, stats = read_corpus_with_stats(corpus(source(path, "jsonl", files=[path]),
                                                 min_words=7, max_words=10, dedupe=True))
    # "Short one." is 2 words; the 12-word text is too long; the duplicate (after stripping)
    # of the first text goes, the first occurrence stays
    assert [t.text_id for t in texts] == ["corpus.jsonl:1"]
    assert (stats.too_short, stats.too_long, stats.duplicates) == (1, 1, 1)
    # bounds are inclusive
    assert len(read_corpus(corpus(source(path, "jsonl", files=[path]), min_words=7,
                                  max_words=7))) == 2


def test_empty_result_says_what_each_filter_removed(tmp_path):
    path = write_jsonl(tmp_path / "corpus.jsonl")
    with pytest.raises(RunError) as e:
        read_corpus(corpus(source(path, "jsonl", files=[path]), min_words=12, max_words=3,
                           dedupe=True))
    assert str(e.value) == (
        "corpus seeds: no text left after filters (read 5 texts from 1 file; 1 empty; "
        "3 removed as shorter than 12 words; 1 removed as longer than 3 words; "
        "0 removed as duplicates)")


def test_txt_glob_one_text_per_file_sorted(tmp_path):
    for rel, text in [("b/2.txt", "Second folder."), ("a/1.txt", "First folder.\n"),
                      ("a/0.txt", "Zero, sorted first.")]:
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    pattern = tmp_path / "*" / "*.txt"
    texts = read_corpus(corpus(source(pattern, "txt")))  # no files recorded: glob at run time
    assert [(t.text_id, t.text, t.label) for t in texts] == [
        ("a/0.txt:1", "Zero, sorted first.", None),
        ("a/1.txt:1", "First folder.", None),
        ("b/2.txt:1", "Second folder.", None),
    ]


def test_several_sources_in_plan_order(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", RECORDS[:2])
    b = write_jsonl(tmp_path / "b.jsonl", RECORDS[4:])
    texts = read_corpus(corpus(source(b, "jsonl", files=[b]), source(a, "jsonl", files=[a])))
    assert [t.text_id for t in texts] == ["b.jsonl:1", "a.jsonl:1", "a.jsonl:2"]


def test_chunking_into_paragraphs_of_n_sentences(tmp_path):
    long = ("One is first.  Two follows it! Is three a question? Four.\nFive ends it.")
    path = write_jsonl(tmp_path / "c.jsonl", [{"text": long, "l": "x"},
                                              {"text": "Just one sentence here.", "l": "y"}])
    texts, stats = read_corpus_with_stats(
        corpus(source(path, "jsonl", label="l", files=[path]), chunk_sentences=2))
    assert [(t.text_id, t.text, t.label) for t in texts] == [
        ("c.jsonl:1:c1", "One is first.  Two follows it!", "x"),
        ("c.jsonl:1:c2", "Is three a question? Four.", "x"),
        ("c.jsonl:1:c3", "Five ends it.", "x"),
        ("c.jsonl:2", "Just one sentence here.", "y"),
    ]
    assert stats.chunks_added == 2
    # the length filter applies to the paragraphs
    kept = read_corpus(corpus(source(path, "jsonl", files=[path]), chunk_sentences=2,
                              min_words=5))
    assert [t.text_id for t in kept] == ["c.jsonl:1:c1", "c.jsonl:1:c2"]


def test_missing_file_and_empty_glob(tmp_path):
    path = write_jsonl(tmp_path / "gone.jsonl")
    plan = corpus(source(path, "jsonl", files=[path]))
    path.unlink()
    with pytest.raises(RunError, match=f"corpus seeds: file not found: {path}"):
        read_corpus(plan)
    with pytest.raises(RunError, match="no file matches"):
        read_corpus(corpus(source(tmp_path / "*.csv", "csv")))


def test_missing_column_names_the_columns(tmp_path):
    path = write_jsonl(tmp_path / "corpus.jsonl")
    with pytest.raises(RunError) as e:
        read_corpus(corpus(source(path, "jsonl", text="Text", files=[path])))
    assert str(e.value) == (f"corpus seeds: {path} has no column 'Text'; its columns are: "
                            "text, source, n (did you mean 'text'?)")
    with pytest.raises(RunError, match="has no column 'lbl'"):
        read_corpus(corpus(source(path, "jsonl", label="lbl", files=[path])))


def test_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(RunError, match=f"corpus seeds: cannot read {path} as jsonl: "):
        read_corpus(corpus(source(path, "jsonl", files=[path])))
