"""Calling models.

- stage.py: the generate stage (`run_generate`): prompts, resumable batched writes of `calls`.
- caller.py: one paced, retried, checked request (shared with LLM-judged goals).
- llm.py: the litellm call itself (the only litellm import), error sorting, key scrubbing.
- pacing.py: rpm/tpm token buckets, shared backoff after 429s.
- local.py: the built-in local model (llama-cpp-python as a litellm custom provider).
- writer.py: batched, transactional writing of `calls` rows and answer texts.
- budget.py: a USD limit shared by the stages of a run.
"""
