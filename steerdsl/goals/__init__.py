"""The goal space: measure implementations, batched measuring with the store as cache, and
normalization. Light at import: spaCy and textstat load only when a value is computed.

- `measure.measure_texts(texts, goals, *, con, progress, ids, workers, judge, base_dir,
  retry_errors)`: raw values (`Measured.raw`, NaN on error) and per-text errors
  (`Measured.errors`); values a judge was not asked for because the budget ran out
  (`Measured.unmeasured`, not cached).
- `judge.make_judge(plan, *, ledger, record)`: the `judge` of measure_texts for LLM-judged
  goals, charged to the run's Ledger; `record` receives what each request cost (JudgeCall).
- `normalize.resolve_bounds(goal, corpus_raw)` and `normalize.normalize(raw, lo, hi)`.
- `builtins`: the built-in measures by name (exactly steerdsl.catalog.MEASURES);
  `mtld`, `formality`: the paper's definitions on plain token lists (METHOD.md 1.1).
- `engine`: one spaCy pass per text through `nlp.pipe`, a process pool for large inputs.
- `cache`: the `measurements` / `texts` / `measures` tables; `custom`: Python and expression
  goals (loading a Python goal's module); `pycall`: calling a Python goal contained (a forked
  child, a timeout per text); `inputs`: the texts `steerdsl measure` reads.
"""
