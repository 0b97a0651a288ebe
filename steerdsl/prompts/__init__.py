"""Prompts: rendering the built-in and custom prompt strategies, cleaning answers (METHOD.md 3)."""
