"""Heylighen & Dewaele formality F-score over universal POS tags (METHOD.md 1.1)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

ARTICLES = frozenset({"a", "an", "the"})
_PLUS = ("NOUN", "ADJ", "ADP", "ARTICLE")
# AUX is deliberately absent: an auxiliary is not a verb here (the reference's convention).
_MINUS = ("PRON", "VERB", "ADV", "INTJ")


def heylighen_dewaele(words: Sequence[str], pos: Sequence[str]) -> float:
    """F = (noun + adj + adp + article - pron - verb - adv - intj + 100) / 2, each term a
    percentage of all words. `words` are the lowercased alphabetic tokens, `pos` their
    universal tags; an article is a DET whose text is a, an or the. No words gives 50."""
    total = len(words)
    if total == 0:
        return 50.0
    counts = Counter(
        "ARTICLE" if tag == "DET" and word in ARTICLES else tag for word, tag in zip(words, pos)
    )
    # Each term as its own percentage, summed in the published order (float-faithful).
    score = 0.0
    for tag in _PLUS:
        score += counts[tag] / total * 100.0
    for tag in _MINUS:
        score -= counts[tag] / total * 100.0
    return (score + 100.0) / 2.0
