"""Provider batch jobs through litellm's files and batches API (the OpenAI batch format).

A job is a JSONL file of requests {custom_id, method, url, body}, uploaded with
purpose "batch", then a batch over it; its output and error files are JSONL with one line per
request, matched back by custom id (the order is not guaranteed). Every provider litellm
creates batches for (openai, azure, vertex_ai, bedrock, hosted_vllm, mistral, xai) and any
OpenAI-compatible server (`api_base`).
"""

from __future__ import annotations

import functools
import inspect
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from steerdsl.llm.completion import CallFailed, classify, scrub
from steerdsl.llm.litellm_loader import litellm_module
from steerdsl.plan.model import ModelPlan
from steerdsl.prices import declared_cost

ENDPOINT = "/v1/chat/completions"
WINDOW = "24h"
MAX_REQUESTS = 50_000  # requests per job (OpenAI's limit)
MAX_BYTES = 190 * 1024 * 1024  # bytes per request file (OpenAI's limit is 200 MB)
BATCH_DISCOUNT = 0.5  # providers charge half the table price for batch requests
FINAL = frozenset({"completed", "failed", "expired", "cancelled"})
CHARS_PER_TOKEN = 4  # a rough prompt-token estimate for the budget check before submitting


@dataclass(frozen=True)
class JobState:
    status: str
    total: int
    completed: int
    failed: int
    output_file_id: str | None
    error_file_id: str | None
    errors: str | None  # why the whole job failed, when it did

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class Result:
    """One request's outcome from an output or error file."""

    custom_id: str
    body: dict | None  # the chat completion, when the request succeeded
    error: str | None = None
    error_kind: str | None = None


class BatchClient:
    """litellm's files and batches calls for one model; errors as CallFailed, without the key."""

    def __init__(self, model: ModelPlan, api_key: str | None) -> None:
        litellm = litellm_module()
        self.model_id, self.provider, _, _ = litellm.get_llm_provider(
            model.model, api_base=model.api_base)
        self.api_key = api_key
        self.kwargs: dict[str, Any] = {"custom_llm_provider": self.provider}
        if model.api_base:
            self.kwargs["api_base"] = model.api_base
            self.kwargs["api_key"] = api_key if api_key is not None else "none"
        elif api_key is not None:
            self.kwargs["api_key"] = api_key

    def _call(self, fn: str, **kwargs) -> Any:
        try:
            return getattr(litellm_module(), fn)(**kwargs, **self.kwargs)
        except Exception as e:
            raise classify(e, self.api_key) from None

    def upload(self, data: bytes | IO[bytes]) -> str:
        """The file id of an uploaded request file (bytes, or a binary file read from its
        start)."""
        return self._call("create_file", file=("steerdsl-batch.jsonl", data),
                          purpose="batch").id

    def create(self, file_id: str) -> tuple[str, str]:
        """The batch id and status of a new batch over an uploaded file."""
        batch = self._call("create_batch", completion_window=WINDOW, endpoint=ENDPOINT,
                           input_file_id=file_id)
        return batch.id, batch.status

    def find(self, file_id: str) -> tuple[str, str] | None:
        """The batch id and status of a batch already created over an uploaded file, among
        the provider's most recent batches (None when there is none, or the provider cannot
        list them): a run killed right after creating a batch adopts it, not a second one."""
        try:
            page = self._call("list_batches", limit=100)
        except CallFailed:
            return None
        for b in getattr(page, "data", None) or []:
            if getattr(b, "input_file_id", None) == file_id:
                return b.id, b.status
        return None

    def retrieve(self, job_id: str) -> JobState:
        b = self._call("retrieve_batch", batch_id=job_id)
        counts = getattr(b, "request_counts", None)
        errors = getattr(b, "errors", None)
        data = getattr(errors, "data", None) or []
        message = "; ".join(str(getattr(d, "message", d)) for d in data) or None
        return JobState(status=b.status, total=getattr(counts, "total", 0) or 0,
                        completed=getattr(counts, "completed", 0) or 0,
                        failed=getattr(counts, "failed", 0) or 0,
                        output_file_id=b.output_file_id, error_file_id=b.error_file_id,
                        errors=scrub(message, self.api_key) if message else None)

    def results(self, file_id: str) -> Iterator[Result]:
        """An output or error file's results, read one line at a time: its content is
        written to a temporary file here as it arrives (the call and its errors happen now,
        for the retries), never held or parsed all at once."""
        response = self._call("file_content", file_id=file_id, **_streamed())
        f = tempfile.TemporaryFile()
        try:
            for chunk in _pieces(response):
                f.write(chunk)
        except Exception as e:
            f.close()
            raise classify(e, self.api_key) from None
        f.seek(0)
        return _results(f)


@functools.cache
def _streamed() -> dict[str, bool]:
    """file_content's argument asking for the content in pieces, when this litellm has it:
    without it, a job's output file (about 50 MB for 50,000 answers) was downloaded whole into
    memory. litellm streams for the OpenAI-compatible providers and Vertex AI, and downloads
    whole for the others."""
    return ({"stream": True}
            if "stream" in inspect.signature(litellm_module().file_content).parameters else {})


def _pieces(response: Any) -> Iterator[bytes]:
    stream = getattr(response, "stream_iterator", None)  # streamed: pieces of bytes
    if stream is not None:
        return iter(stream)
    chunks = getattr(response, "iter_bytes", None)
    return chunks() if callable(chunks) else iter((response.content,))


def _results(f: IO[bytes]) -> Iterator[Result]:
    with f:
        for line in f:
            if line.strip():
                yield parse_result(json.loads(line))


def request_line(custom_id: str, model_id: str, prompt: str, params: dict[str, Any]) -> bytes:
    body = {"model": model_id, "messages": [{"role": "user", "content": prompt}], **params}
    return (json.dumps({"custom_id": custom_id, "method": "POST", "url": ENDPOINT,
                        "body": body}) + "\n").encode()


def _fits(requests: int, size: int, line: bytes, max_requests: int, max_bytes: int) -> bool:
    """Whether `line` may join a job of `requests` lines and `size` bytes (a job's first line
    always does)."""
    return not requests or (requests < max_requests and size + len(line) <= max_bytes)


class JobFile:
    """One job's request file, written line by line to a temporary file (in memory while
    small), within the provider's limits."""

    def __init__(self) -> None:
        self.max_requests = MAX_REQUESTS  # read now: tests lower them
        self.max_bytes = MAX_BYTES
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        self.requests = 0
        self.size = 0

    def fits(self, line: bytes) -> bool:
        return _fits(self.requests, self.size, line, self.max_requests, self.max_bytes)

    def add(self, line: bytes) -> None:
        self.file.write(line)
        self.requests += 1
        self.size += len(line)

    def rewound(self) -> IO[bytes]:
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()


def split_jobs(lines: list[bytes], max_requests: int = MAX_REQUESTS,
               max_bytes: int = MAX_BYTES) -> list[list[int]]:
    """Indices of `lines` grouped into jobs within the provider's limits, in order (the rule
    JobFile applies as the lines are written)."""
    jobs: list[list[int]] = []
    size = 0
    for i, line in enumerate(lines):
        if not jobs or not _fits(len(jobs[-1]), size, line, max_requests, max_bytes):
            jobs.append([])
            size = 0
        jobs[-1].append(i)
        size += len(line)
    return jobs


def parse_result(line: dict) -> Result:
    custom_id = line.get("custom_id", "")
    error = line.get("error")
    response = line.get("response") or {}
    if error:
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else str(error)
        kind = "expired" if code == "batch_expired" else "retry"
        return Result(custom_id, None, f"{code or 'error'}: {message}", kind)
    status = response.get("status_code")
    body = response.get("body")
    if status != 200 or not isinstance(body, dict):
        detail = (body or {}).get("error", body) if isinstance(body, dict) else body
        message = detail.get("message") if isinstance(detail, dict) else detail
        return Result(custom_id, None, f"status {status}: {message}", _kind(status))
    return Result(custom_id, body)


def _kind(status: Any) -> str:
    if status == 429:
        return "rate_limit"
    if isinstance(status, int) and status >= 500:
        return "server"
    if isinstance(status, int) and status >= 400:
        return "fatal"
    return "retry"


def answers(body: dict) -> tuple[list[str | None], list[str | None]]:
    """The raw answers and finish reasons of a chat completion's choices (None: no answer;
    a reasoning block is put back in front, as for streamed requests)."""
    contents: list[str | None] = []
    reasons: list[str | None] = []
    for choice in body.get("choices") or []:
        message = choice.get("message") or {}
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            content = None
        elif message.get("reasoning_content"):
            content = f"<think>{message['reasoning_content']}</think>{content}"
        contents.append(content)
        reasons.append(choice.get("finish_reason") or None)
    return contents, reasons


def batch_cost(model: ModelPlan, model_id: str, prompt_tokens: int | None,
               completion_tokens: int | None) -> float | None:
    """USD of one batch request: a price declared in the spec is taken as the batch price;
    else half of litellm's table price; None when neither is known."""
    if model.price is not None:
        return declared_cost(model.price.input_per_mtok, model.price.output_per_mtok,
                             prompt_tokens, completion_tokens)
    if prompt_tokens is None and completion_tokens is None:
        return None
    try:
        p, c = litellm_module().cost_per_token(model=model_id, prompt_tokens=prompt_tokens or 0,
                                               completion_tokens=completion_tokens or 0)
    except Exception:
        return None
    return (p + c) * BATCH_DISCOUNT


def estimate_cost(model: ModelPlan, model_id: str, prompt_chars: int, requests: int,
                  max_tokens: int | None) -> float:
    """What a job will cost at most, roughly: its prompts' tokens (estimated from their
    length in characters) and max_tokens per answer when set; 0 when the price is unknown."""
    prompt_tokens = prompt_chars // CHARS_PER_TOKEN
    completion_tokens = (max_tokens or 0) * requests
    return batch_cost(model, model_id, prompt_tokens, completion_tokens) or 0.0


__all__ = ["BatchClient", "CallFailed", "JobFile", "JobState", "Result", "answers", "batch_cost",
           "estimate_cost", "parse_result", "request_line", "split_jobs"]
