"""A corpus stage's texts: `texts` (every text once, by hash) and `corpus_texts` (the corpus's
rows in order)."""

from __future__ import annotations

from steerdsl.store.bulk import insert_rows

# (text_id, text, label, text_hash), in corpus order
CorpusRow = tuple[str, str, "str | None", str]


def save_corpus(con, corpus_hash: str, rows: list[CorpusRow]) -> None:
    insert_rows(con, "texts", ["text_hash", "text"],
                {h: txt for _, txt, _, h in rows}.items(), on_conflict="ignore")
    con.execute("DELETE FROM corpus_texts WHERE corpus_hash = ?", [corpus_hash])
    insert_rows(con, "corpus_texts", ["corpus_hash", "position", "text_id", "label", "text_hash"],
                [(corpus_hash, i, tid, label, h) for i, (tid, _, label, h) in enumerate(rows)])


def load_corpus(con, corpus_hash: str) -> list[CorpusRow]:
    return con.execute(
        "SELECT c.text_id, t.text, c.label, c.text_hash FROM corpus_texts c "
        "JOIN texts t USING (text_hash) WHERE c.corpus_hash = ? ORDER BY c.position",
        [corpus_hash]).fetchall()
