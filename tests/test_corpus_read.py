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


# --- bad input never corrupts, never lies (issue 11, items 1 and 20) ---------------------------


def read_error(path, fmt) -> str:
    """The message of the RunError that reading one file gives."""
    with pytest.raises(RunError) as e:
        read_corpus(corpus(source(path, fmt, files=[path])))
    return str(e.value)


def test_jsonl_texts_that_are_not_strings_are_errors_by_line_and_nothing_is_cast(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "Line one.\\nLine \\"two\\"."}\n'
                    '{"text": 12345}\n'
                    '\n'
                    '{"text": ["a"]}\n'
                    '{"text": {"x": 1}}\n'
                    '{"text": true}\n'
                    '{"text": null}\n'
                    '{"text": "fine"}\n', encoding="utf-8")
    assert read_error(path, "jsonl") == (
        f"corpus seeds: cannot read {path} as jsonl: 4 bad records: "
        "line 2: 'text' is a number (12345), not a string; "
        "line 4: 'text' is a list ([\"a\"]), not a string; "
        "line 5: 'text' is an object ({\"x\": 1}), not a string; "
        "line 6: 'text' is a boolean (true), not a string")


def test_bad_records_are_capped_with_a_count(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("".join('{"text": %d}\n' % i for i in range(13)), encoding="utf-8")
    message = read_error(path, "jsonl")
    assert message.startswith(f"corpus seeds: cannot read {path} as jsonl: 13 bad records: "
                              "line 1: 'text' is a number (0), not a string; ")
    assert message.endswith("line 10: 'text' is a number (9), not a string; and 3 more")


def test_texts_stay_exactly_as_written_beside_other_types(tmp_path):
    # Before: DuckDB typed the column as JSON when the values' types mixed, and the cast
    # turned every text into a JSON string (quotes, literal \n).
    path = tmp_path / "c.jsonl"
    records = [{"text": 'Two\nlines, "quoted".', "label": 1},
               {"text": None, "label": "b"},
               {"text": "Plain.", "label": [1, 2]},
               {"label": True}]
    write_jsonl(path, records)
    texts, stats = read_corpus_with_stats(corpus(source(path, "jsonl", label="label",
                                                        files=[path])))
    assert [(t.text_id, t.text, t.label) for t in texts] == [
        ("c.jsonl:1", 'Two\nlines, "quoted".', "1"),
        ("c.jsonl:3", "Plain.", "[1, 2]"),
    ]
    assert (stats.read, stats.empty) == (4, 2)


def test_json_array_records_are_reported_by_their_line(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('[\n  {"text": "ok"},\n  {"text": 7},\n  "just a string"\n]\n',
                    encoding="utf-8")
    assert read_error(path, "json") == (
        f"corpus seeds: cannot read {path} as json: 2 bad records: "
        "line 3: 'text' is a number (7), not a string; line 4: a string, not an object")


def test_parquet_text_column_of_numbers_is_an_error(tmp_path):
    path = tmp_path / "c.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 12345 AS text UNION ALL SELECT 6) TO '{path}' (FORMAT parquet)")
    con.close()
    assert read_error(path, "parquet") == (f"corpus seeds: {path}: column 'text' holds INTEGER values, "
                            "not text")


def test_latin1_csv_says_it_is_not_utf8_and_where(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"text,label\nok,1\ncaf\xe9 au lait,2\n")
    assert read_error(path, "csv") == (f"corpus seeds: cannot read {path} as csv: not UTF-8: byte 0xe9 "
                            "on line 3, column 4 (save the file as UTF-8)")


def test_bad_jsonl_line_is_reported_at_its_own_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b"}\n{"text": \n{"text": "c"}\n',
                    encoding="utf-8")
    assert read_error(path, "jsonl") == (f"corpus seeds: cannot read {path} as jsonl: 1 bad record: "
                            "line 4: not valid JSON (Expecting value at column 10)")


def test_empty_jsonl_says_it_holds_no_records(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(RunError) as e:
        read_corpus(corpus(source(empty, "jsonl", files=[empty])))
    assert str(e.value) == ("corpus seeds: no text left after filters (read 0 texts from "
                            "1 file; 0 empty; 1 file holds no records: empty.jsonl)")
    # beside a file with texts, an empty file is no error
    full = write_jsonl(tmp_path / "full.jsonl", RECORDS[:1])
    texts = read_corpus(corpus(source(empty, "jsonl", files=[empty]),
                               source(full, "jsonl", files=[full])))
    assert [t.text_id for t in texts] == ["full.jsonl:1"]


def test_one_column_csv_is_not_split_on_semicolons(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("text\nhello; world\nsecond; one; two\n", encoding="utf-8")
    texts = read_corpus(corpus(source(path, "csv", files=[path])))
    assert [t.text for t in texts] == ["hello; world", "second; one; two"]


def test_semicolon_csv_with_a_header_naming_its_columns_still_reads(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('text;label\n"One, two.";a\nThree;b\n', encoding="utf-8")
    texts = read_corpus(corpus(source(path, "csv", label="label", files=[path])))
    assert [(t.text, t.label) for t in texts] == [("One, two.", "a"), ("Three", "b")]


@pytest.mark.parametrize("name, content", [
    ("semi.csv", 'text;label\n"One, two.";a\nThree words here;b\n;c\n'),
    ("one.csv", "text\nhello; world\nsecond; one; two\n"),
    ("blank.jsonl", '{"text": "a b"}\n\n{"text": null}\n{"x": 1}\n{"text": "c d e"}\n'),
    ("arr.json", '[{"text": "a b"}, {"text": "  "}, {"text": "c"}]'),
])
def test_compile_counts_agree_with_the_reader(tmp_path, name, content):
    from steerdsl.plan.counts import source_word_counts

    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    src = source(path, name.split(".")[1], files=[path])
    texts = read_corpus(corpus(src))
    assert source_word_counts(src) == [len(t.text.split()) for t in texts]


def test_cli_reports_non_string_texts_and_exits_1(tmp_path, capsys):
    from steerdsl.cli import main

    (tmp_path / "c.jsonl").write_text('{"text": "A text."}\n{"text": 12345}\n',
                                      encoding="utf-8")
    spec = tmp_path / "s.steer"
    spec.write_text('experiment e { seed 1 }\ncorpus c { read "c.jsonl" }\n'
                    "goals { n = token_count normalize quantile 5%..95% of c }\n",
                    encoding="utf-8")
    code = main(["measure", "--spec", str(spec), "Some words."])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.endswith(f"error: corpus c: cannot read {tmp_path / 'c.jsonl'} as jsonl: 1 bad "
                        "record: line 2: 'text' is a number (12345), not a string\n")
    assert "internal error" not in err
