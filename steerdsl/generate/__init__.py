"""Calling models: the generate stage (stage.py), litellm calls (llm.py), pacing (pacing.py),
the built-in local model (local.py), batched writing of `calls` rows (writer.py)."""
