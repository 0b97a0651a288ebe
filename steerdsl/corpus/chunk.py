"""Splitting long texts into paragraphs of N sentences.

Sentences come from spaCy's rule-based `sentencizer` on a blank English pipeline: no trained
model is needed, and its boundaries do not change with a model version.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=1)
def _sentencizer():
    from steerdsl.goals.nlp import import_spacy  # heavy: only when a corpus asks for chunking

    nlp = import_spacy().blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def split_paragraphs(texts: Sequence[str], sentences: int) -> list[list[str]]:
    """For each text, its paragraphs of `sentences` consecutive sentences (the last one may be
    shorter). A paragraph is the original text from its first sentence's start to its last
    sentence's end, so spacing and line breaks inside it are kept. A text of at most
    `sentences` sentences comes back unchanged as its only paragraph."""
    if sentences < 1:
        raise ValueError(f"sentences per paragraph must be >= 1, got {sentences}")
    nlp = _sentencizer()
    # The sentencizer keeps no per-token vectors, so long texts are cheap; spaCy's default
    # limit guards the trained pipelines' memory, not this one.
    nlp.max_length = max([nlp.max_length, *(len(t) + 1 for t in texts)])
    out: list[list[str]] = []
    for text, doc in zip(texts, nlp.pipe(texts, batch_size=256)):
        sents = list(doc.sents)
        if len(sents) <= sentences:
            out.append([text])
            continue
        paragraphs = []
        for i in range(0, len(sents), sentences):
            group = sents[i:i + sentences]
            paragraph = text[group[0].start_char:group[-1].end_char].strip()
            if paragraph:
                paragraphs.append(paragraph)
        out.append(paragraphs)
    return out
