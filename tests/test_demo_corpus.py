"""The demo corpus the quickstart and the tests rely on: its shape is a promise of data/demo/README.md."""

import json
from collections import Counter
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "demo" / "corpus.jsonl"


def _records():
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def test_demo_corpus_has_enough_varied_texts_of_the_promised_lengths():
    records = _records()
    assert len(records) >= 60
    assert len({r["id"] for r in records}) == len(records)
    assert all(set(r) == {"id", "register", "title", "text"} for r in records)
    words = [len(r["text"].split()) for r in records]
    assert min(words) >= 80 and max(words) <= 1500
    assert sum(w > 800 for w in words) >= 5
    registers = Counter(r["register"] for r in records)
    for register in ("news", "narrative", "forum", "technical", "instructions", "letter"):
        assert registers[register] >= 8, register
