"""Reading a groundedness judge's answer: {"answer": "Yes"|"No", "rationale": "..."} as JSON,
JSON in a code fence, JSON with trailing commas, keys and values in any case, or a bare
Yes/No ("Yes.", "No, the rewrite is about ..."). Reasoning blocks (<think>...</think>) are
removed first. Anything else is not parsed: verdict None (the caller keeps the raw text, and
the answer goes to review)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from steerdsl.prompts.clean import strip_reasoning

_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
# A bare verdict: Yes/No as the first word (after quotes or markdown emphasis), then the end
# or punctuation: "Yes", "**No**.", "Yes, both describe ...". Not "No idea" nor "Yesterday".
_BARE = re.compile(r"""^[\s"'*_`>#]*(yes|no)[\s"'*_`]*(?:$|[.,!:;)\-–—]\s*(.*))""",
                   re.IGNORECASE | re.DOTALL)
# "Answer: Yes" on a line of its own, with an optional "Rationale: ..." line.
_LABELLED = re.compile(r"""^[\s*_#]*answer[\s*_]*[:=]\s*[\s"'*_]*(yes|no)\b""",
                       re.IGNORECASE | re.MULTILINE)
_LABELLED_RATIONALE = re.compile(r"""^[\s*_#]*rationale[\s*_]*[:=]\s*(.+)""",
                                 re.IGNORECASE | re.MULTILINE)
_ANSWER_KEYS = ("answer", "verdict")
_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation")
_VALUE_DECORATION = " \t\r\n.!\"'*_`"


@dataclass(frozen=True)
class Verdict:
    verdict: Literal["yes", "no"] | None  # None: not parsed
    rationale: str | None = None


def parse_verdict(text: str) -> Verdict:
    text = strip_reasoning(text).strip()
    for candidate in _json_candidates(text):
        found = _from_json(candidate)
        if found is not None:
            return found
    m = _LABELLED.search(text)
    if m:
        r = _LABELLED_RATIONALE.search(text)
        return Verdict(m.group(1).lower(), _clean(r.group(1)) if r else None)
    m = _BARE.match(text)
    if m:
        return Verdict(m.group(1).lower(), _clean(m.group(2)))
    return Verdict(None)


def _json_candidates(text: str) -> list[str]:
    """Texts that may hold the JSON object: each fenced block, the whole text, and the span
    from its first '{' to its last '}' (JSON after a sentence)."""
    out = [m.group(1).strip() for m in _FENCE.finditer(text)]
    out.append(text)
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        out.append(text[start:end + 1])
    return out


def _from_json(candidate: str) -> Verdict | None:
    """The verdict of a JSON object (None when the candidate is not a JSON object with an
    answer key). An answer that is neither yes nor no is an unparsed verdict."""
    obj = _load(candidate)
    if not isinstance(obj, dict):
        return None
    fields = {str(k).strip().lower(): v for k, v in obj.items()}
    answer_key = next((k for k in _ANSWER_KEYS if k in fields), None)
    if answer_key is None:
        return None
    rationale = next((fields[k] for k in _RATIONALE_KEYS if k in fields), None)
    rationale = _clean(rationale if isinstance(rationale, str) else
                       None if rationale is None else json.dumps(rationale))
    return Verdict(_yes_no(fields[answer_key]), rationale)


def _load(candidate: str):
    for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
        try:
            return json.loads(attempt)
        except ValueError:
            continue
    return None


def _yes_no(value) -> Literal["yes", "no"] | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        word = value.strip(_VALUE_DECORATION).lower()
        if word in ("yes", "no"):
            return word  # type: ignore[return-value]
    return None


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip().strip("\"'*_`").strip()
    return text or None
