"""Counts in messages: "1 request", "2 requests"."""

from __future__ import annotations


def count(n: int, one: str, many: str | None = None) -> str:
    """`n` and the noun, singular for exactly one; `many` for irregular plurals ("corpora")."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
