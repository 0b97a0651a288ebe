"""What one request to a model brought back, or how it failed: the fields `calls` rows and
closed-loop feedback's rounds (`feedback_rounds`) both store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AnswerRecord:
    row_id: int
    sample: int
    prompt: str
    status: str  # 'ok' | 'error'
    raw_answer: str | None = None
    answer: str | None = None
    error: str | None = None
    error_kind: str | None = None  # steerdsl.llm.completion.CallFailed kind of `error`
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    latency_s: float | None = None
    attempts: int = 1
    finish_reason: str | None = None  # 'length': the answer was cut off
