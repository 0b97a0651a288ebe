"""Computing built-in measures for a batch of texts: one spaCy pass per text, batched through
`nlp.pipe`, in this process or, for large inputs, in a pool of worker processes (or on a Ray
cluster: steerdsl.executors).

Errors are per text and per measure: a batch never dies on one text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from steerdsl.executors import Executor
from steerdsl.executors.local import LocalPool
from steerdsl.goals.builtins import (
    SPACY_MEASURES,
    TEXT_MEASURES,
    TEXTSTAT_MEASURES,
    Tokens,
    doc_tokens,
    is_finite,
)
from steerdsl.goals.nlp import load_nlp

# spaCy refuses longer texts (its parser needs about 1 GB per 100 k characters).
MAX_SPACY_CHARS = 1_000_000
PIPE_BATCH = 64
# Below this many texts (and characters) a pool costs more than it saves.
PARALLEL_MIN_TEXTS = 200
PARALLEL_MIN_CHARS = 400_000


@dataclass
class BuiltinBatch:
    """Values of `names` for each text: values[i, j] is text i, measure names[j]; NaN on error."""

    names: tuple[str, ...]
    values: np.ndarray
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (text pos, name, message)


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def _parse(texts: Sequence[str]) -> list[Tokens | str]:
    """Tokens of each text, or the reason it could not be parsed."""
    nlp = load_nlp()
    out: list[Tokens | str] = [""] * len(texts)
    ok: list[int] = []
    for i, text in enumerate(texts):
        if len(text) > MAX_SPACY_CHARS:
            out[i] = f"text too long for spaCy: {len(text)} characters (limit {MAX_SPACY_CHARS})"
        else:
            ok.append(i)
    try:
        for i, doc in zip(ok, nlp.pipe((texts[i] for i in ok), batch_size=PIPE_BATCH)):
            out[i] = doc_tokens(doc)
    except Exception:  # one bad text must not take the batch with it: redo one by one
        for i in ok:
            try:
                out[i] = doc_tokens(nlp(texts[i]))
            except Exception as e:
                out[i] = f"spaCy failed: {_describe(e)}"
    return out


def compute_builtins(texts: Sequence[str], names: Sequence[str]) -> BuiltinBatch:
    """Built-in measures `names` of `texts`, in this process."""
    names = tuple(names)
    values = np.full((len(texts), len(names)), np.nan)
    errors: list[tuple[int, str, str]] = []
    spacy_cols = [(j, n) for j, n in enumerate(names) if n in SPACY_MEASURES]
    text_cols = [(j, n) for j, n in enumerate(names) if n in TEXT_MEASURES]
    unknown = [n for n in names if n not in SPACY_MEASURES and n not in TEXT_MEASURES]
    if unknown:
        raise ValueError(f"not built-in measures: {', '.join(unknown)}")
    parsed = _parse(texts) if spacy_cols else []

    def put(i: int, j: int, name: str, compute: Callable[[], float]) -> None:
        try:
            v = float(compute())
        except Exception as e:
            errors.append((i, name, _describe(e)))
            return
        if is_finite(v):
            values[i, j] = v
        else:
            errors.append((i, name, f"value is not a finite number ({v})"))

    for i, text in enumerate(texts):
        if spacy_cols:
            tokens = parsed[i]
            for j, name in spacy_cols:
                if isinstance(tokens, str):
                    errors.append((i, name, tokens))
                else:
                    put(i, j, name, lambda f=SPACY_MEASURES[name], t=tokens: f(t))
        for j, name in text_cols:
            put(i, j, name, lambda f=TEXT_MEASURES[name], t=text: f(t))
    return BuiltinBatch(names, values, errors)


IN_PROCESS = LocalPool(1)  # a few texts: a pool would cost more than it saves


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def use_pool(texts: Sequence[str], workers: int) -> bool:
    if workers <= 1 or len(texts) < 2:
        return False
    return len(texts) >= PARALLEL_MIN_TEXTS or sum(map(len, texts)) >= PARALLEL_MIN_CHARS


def chunk_size(n_texts: int, workers: int, most: int) -> int:
    """Texts per job. In this process alone, as many as nlp.pipe likes. Across workers, the
    same whole number of jobs for each (at least 4, so all stay busy to the end and finish
    together), none above `most` (the executor's chunk size, batching nlp.pipe well enough)."""
    if workers <= 1:
        return 4 * PIPE_BATCH
    per_worker = max(4, -(-n_texts // (workers * most)))
    return max(1, -(-n_texts // (workers * per_worker)))


def _run_job(job: tuple[list[str], tuple[str, ...]]) -> BuiltinBatch:
    texts, names = job
    return compute_builtins(texts, names)


def compute_groups(
    groups: Sequence[tuple[Sequence[str], Sequence[str]]], *, workers: int | None = None,
    executor: Executor | None = None,
) -> Iterator[tuple[int, int, BuiltinBatch]]:
    """compute_builtins over groups of (texts, measure names), in chunks, yielding
    (group index, offset of the chunk in the group, batch) as chunks finish (in any order).

    executor: where chunks run (a Ray cluster: steerdsl.executors.ray); without one, across
    `workers` processes of this machine (default: all cores) when the input is large enough,
    else in this process."""
    all_texts = [t for texts, _ in groups for t in texts]
    own = executor is None  # a pool made for this call, ended with it
    if own:
        executor = LocalPool(default_workers() if workers is None else workers)
    if isinstance(executor, LocalPool) and not use_pool(all_texts, executor.workers):
        executor = IN_PROCESS
    size = chunk_size(len(all_texts), executor.workers, executor.chunk_texts)
    where: list[tuple[int, int]] = []
    jobs: list[tuple[list[str], tuple[str, ...]]] = []
    for g, (texts, names) in enumerate(groups):
        for start in range(0, len(texts), size):
            where.append((g, start))
            jobs.append((list(texts[start:start + size]), tuple(names)))
    names = frozenset(name for _, job_names in jobs for name in job_names)
    try:
        for i, batch in executor.map_unordered(_run_job, jobs,
                                               prepare=partial(_preload, names)):
            g, start = where[i]
            yield g, start, batch
    finally:
        if own:
            executor.close()


_LOADED: set[str] = set()  # what _preload loaded in this process


def _preload(names: frozenset[str]) -> bool:
    """Load what measuring `names` needs, once per process; True when this call loaded
    something."""
    wanted = set()
    if names & set(SPACY_MEASURES):
        wanted.add("spacy")
    if names & set(TEXTSTAT_MEASURES):
        wanted.add("syllables")
    new = wanted - _LOADED
    if "spacy" in new:
        load_nlp()
    if "syllables" in new:
        TEXTSTAT_MEASURES["syllable_count"]("Loading the dictionary.")
    _LOADED.update(new)
    return bool(new)
