"""What a run says about failed calls: the most common error kinds of a generate stage, with
counts, one example each, and whether retrying can help. Read from the store, so errors kept
from earlier runs are described like new ones."""

from __future__ import annotations

from steerdsl.plan.model import ModelPlan
from steerdsl.store.call_stats import error_kinds
from steerdsl.words import count

TOP_KINDS = 3
EXAMPLE_CHARS = 200
RETRY = "rerun with --retry-errors"

# kind (steerdsl.llm.completion.CallFailed) -> (what happened, what to do)
KINDS: dict[str, tuple[str, str]] = {
    "connection": ("could not connect",
                   "check that the server is running and the model's api_base is right, "
                   f"then {RETRY}"),
    "timeout": ("timed out",
                "raise the model's `timeout`, or lower its `concurrency` for a server that "
                f"answers one request at a time, then {RETRY}"),
    "rate_limit": ("rate limited (429)",
                   f"lower the model's `concurrency` or set `rpm`/`tpm`, then {RETRY}"),
    "server": ("server error (5xx)", f"often temporary: {RETRY}"),
    "malformed": ("empty or malformed answer", f"{RETRY}; if it persists, check the model"),
    "context": ("prompt longer than the model's context",
                "retrying won't help: use shorter source texts or a model with a longer context"),
    "fatal": ("request refused (4xx)",
              "retrying won't help: the request itself is wrong; change what the message "
              "names (model name, a sampling setting) in the spec"),
    "expired": ("not run within the provider's batch window (batch on)", RETRY),
    "retry": ("other error", RETRY),
}


def describe_failures(con, gen_hash: str, stage_id: str, total: int) -> tuple[int, str]:
    """The number of error rows of a generate stage and what to say about them: '' when there
    are none, else a header line and one line per error kind (the most common first)."""
    return describe_error_rows(error_kinds(con, gen_hash), stage_id, total)


def describe_error_rows(rows: list[tuple[str, int, str | None, int | None]], stage_id: str,
                        total: int, what: str = "call", table: str = "calls"
                        ) -> tuple[int, str]:
    """describe_failures of rows (error kind, count, example, attempts), most common first:
    also what the judge stage says about its failed verdict requests."""
    if not rows:
        return 0, ""
    failed = sum(r[1] for r in rows)
    lines = [f"{stage_id}: {failed} of {count(total, what)} failed (stored as errors):"]
    for kind, n, example, attempts in rows[:TOP_KINDS]:
        label, hint = KINDS.get(kind, KINDS["retry"])
        tried = "not retried" if (attempts or 1) <= 1 else f"tried up to {attempts} times"
        lines.append(f"  {n} {label} ({tried}), e.g. \"{_clip(example)}\": {hint}")
    rest = rows[TOP_KINDS:]
    if rest:
        lines.append(f"  and {sum(r[1] for r in rest)} more of {len(rest)} other kinds "
                     f"(the `error` column of `{table}`)")
    return failed, "\n".join(lines)


def describe_unreachable(model: ModelPlan, last_error: str, failures: int) -> str:
    where = (model.api_base or ", ".join(d.api_base for d in model.deployments)
             or "its provider")
    return (f"model {model.name}: {failures} requests in a row could not connect to {where} "
            f"(last: \"{_clip(last_error)}\"); stopped sending to it: its remaining generate "
            "stages are not run. Check that the server is running and the model's "
            "api_base is right, then rerun the same command: answers stored so far are kept.")


def describe_timeouts(model: ModelPlan, timeouts: int, requests: int, concurrency: int) -> str:
    """A warning when most requests to a model timed out ('' otherwise): timeouts count from
    when a request is sent, so requests queued by the server time out while they wait."""
    if requests == 0 or 2 * timeouts <= requests:
        return ""
    line = (f"{timeouts} of {count(requests, 'request')} to {model.name} timed out at "
            f"concurrency {concurrency} (timeout {model.timeout:g}s); ")
    if concurrency > 1:
        return line + ("a server that answers one request at a time queues them: lower the "
                       "model's `concurrency` or raise its `timeout`")
    return line + "raise the model's `timeout`"


def _clip(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + "..."
