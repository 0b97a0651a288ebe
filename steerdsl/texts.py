"""Text identity: every text in the store is keyed by the sha256 of its UTF-8 bytes."""

from __future__ import annotations

import hashlib


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
