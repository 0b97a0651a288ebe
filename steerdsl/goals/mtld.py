"""MTLD lexical diversity: McCarthy & Jarvis (2010), the published original (METHOD.md 1.1).

The reference tool used a lemmatized, licence-restricted variant; this is the original
definition, so values differ from the reference's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

THRESHOLD = 0.72


def _one_pass(tokens: Iterable[str], threshold: float) -> tuple[int, float]:
    """(token count, factor count including the trailing partial factor)."""
    n = 0
    factors = 0.0
    types: set[str] = set()
    count = 0
    for tok in tokens:
        n += 1
        count += 1
        types.add(tok)
        if len(types) / count <= threshold:
            factors += 1.0
            types = set()
            count = 0
    if count:
        factors += (1.0 - len(types) / count) / (1.0 - threshold)
    return n, factors


def mtld_pass(tokens: Iterable[str], threshold: float = THRESHOLD) -> float:
    """One directional pass: tokens / factors; a pass with no factor at all scores its length."""
    n, factors = _one_pass(tokens, threshold)
    return n / factors if factors > 0 else float(n)


def mtld(tokens: Sequence[str], threshold: float = THRESHOLD) -> float:
    """Mean of a forward and a backward pass; no tokens gives 0."""
    if not tokens:
        return 0.0
    return (mtld_pass(tokens, threshold) + mtld_pass(reversed(tokens), threshold)) / 2.0
