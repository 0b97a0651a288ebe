"""The LLM client: every request steerdsl sends to a model (generation and LLM judges).

Modules, in import order (each imports only those above it, and nothing of steerdsl's stages,
run or store):

- litellm_loader: imports litellm once, offline; the names of steerdsl's own providers.
- inprocess: what the in-process providers share (a litellm custom provider generating in a
  thread; stop_generating for Ctrl-C).
- local: the built-in local model (llama.cpp in process).
- hf: hf models (transformers in process, optionally with a LoRA adapter).
- completion: one chat completion through litellm; usage, cost, and errors sorted by kind
  (CallFailed).
- keys: a model's API key, read from its environment variable and checked.
- pacing: rpm/tpm token buckets and the shared backoff after 429s (Pacer).
- budget: the run-wide spending limit and cost ledger (Ledger, BudgetExceeded).
- caller: one logical request (Caller.call): paced, retried, given up on a dead server,
  charged to the ledger, and not sent once the ledger is exhausted.
"""
