"""What a value may be: its type, unit and bounds, and checking a value against its rule
(with the message at the value's place: "'max_tokens' takes a whole number, got 0.5").

The keyword tables (steerdsl.lang.keywords) give each setting its rule; the checker also
checks values that are not keyword settings (probe counts, deltas, thresholds) here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from steerdsl.lang import syntax
from steerdsl.lang.diagnostics import Diagnostic


@dataclass(frozen=True)
class Number:
    lo: float | None = None  # inclusive
    hi: float | None = None  # inclusive
    integer: bool = False
    lo_open: bool = False  # lo itself not allowed
    hi_open: bool = False  # hi itself not allowed

    def describe(self, too_low: bool) -> str:
        low = f"{'above' if self.lo_open else 'at least'} {_fmt(self.lo)}" \
            if self.lo is not None else ""
        high = f"{'below' if self.hi_open else 'at most'} {_fmt(self.hi)}" \
            if self.hi is not None else ""
        # A far upper bound (a sanity cap) reads better alone: "at least 1", "at most 10^9".
        if self.lo is not None and self.hi is not None and self.hi <= 10**6:
            if self.hi_open:
                return f"{low} and {high}"
            return f"between {_fmt(self.lo)} and {_fmt(self.hi)}"
        return low if too_low else high

    def plan_value(self, value: syntax.Num) -> int | float:
        return int(value.value) if self.integer else value.value


@dataclass(frozen=True)
class Text:
    choices: tuple[str, ...] = ()

    def plan_value(self, value: syntax.Str) -> str:
        return value.value


@dataclass(frozen=True)
class Flag:
    """A keyword alone (`dedupe`, `negative`): the plan field is True when it is written."""

    def plan_value(self, value: None) -> bool:
        return True


@dataclass(frozen=True)
class Word:
    """A keyword value the grammar already restricts (select nearest|first, no_explain on|off,
    truncated score|drop), and the plan's value for each word."""

    values: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, *words: str) -> "Word":
        """Words the plan takes as they are."""
        return cls(tuple((w, w) for w in words))

    def plan_value(self, value: syntax.Name) -> Any:
        return dict(self.values)[value.value]


@dataclass(frozen=True)
class WordRange:
    """keep words a..b: whole numbers, 0 <= a <= b."""

    def plan_value(self, value: syntax.Range) -> tuple[int, int]:
        return int(value.lo.value), int(value.hi.value)


@dataclass(frozen=True)
class Prices:
    """price in X out Y: US dollars per million input and output tokens, each >= 0."""

    def plan_value(self, value: syntax.Price) -> tuple[float, float]:
        return value.input.value, value.output.value


@dataclass(frozen=True)
class RayAddress:
    """A Ray cluster's address: `auto` (the cluster this machine is part of), HOST:PORT (its
    head node) or ray://HOST:PORT (Ray Client)."""

    def plan_value(self, value: syntax.Str) -> str:
        return value.value


def ray_address_problem(address: str) -> str | None:
    """Why `address` is not a Ray address, or None."""
    if address == "auto":
        return None
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return (f"a Ray address is 'auto', HOST:PORT or ray://HOST:PORT (such as "
                f"127.0.0.1:6379); not {address!r}")
    return None


Rule = Number | Text | Flag | Word | WordRange | Prices | RayAddress

COUNT = Number(1, 10**9, integer=True)  # beyond any real run; keeps plans sane
MAX_SEED = 2**63 - 1
# python "module:function" timeout SECONDS: per text; a day is beyond any sane measure.
PYTHON_TIMEOUT = Number(0, 86_400, lo_open=True)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def check_number(num: syntax.Num, rule: Number, what: str) -> list[Diagnostic]:
    """Type, unit and bounds of one number; `what` names it in messages ("'sources'")."""
    if num.percent:
        return [Diagnostic("error", f"{what} takes a plain number, not a percentage", num.span,
                           _fmt(num.value / 100))]
    if rule.integer and not num.is_int:
        return [Diagnostic("error", f"{what} takes a whole number, got {num.text}", num.span)]
    v = num.value
    low = rule.lo is not None and (v <= rule.lo if rule.lo_open else v < rule.lo)
    high = rule.hi is not None and (v >= rule.hi if rule.hi_open else v > rule.hi)
    if low or high:
        return [Diagnostic("error", f"{what} must be {rule.describe(low)}, got {num.text}",
                           num.span)]
    return []


def check_setting(s: syntax.Setting, rule: Rule) -> list[Diagnostic]:
    what = f"'{s.key}'"
    v = s.value
    if isinstance(rule, Number) and isinstance(v, syntax.Num):
        return check_number(v, rule, what)
    if isinstance(rule, Text) and isinstance(v, syntax.Str):
        if rule.choices and v.value not in rule.choices:
            from steerdsl.lang.suggest import closest

            return [Diagnostic("error", f"unknown {s.key} model '{v.value}' "
                               f"(available: {', '.join(rule.choices)})", v.span,
                               closest(v.value, rule.choices))]
        if not v.value.strip():
            return [Diagnostic("error", f"{what} must not be empty", v.span)]
        return []
    if isinstance(rule, RayAddress) and isinstance(v, syntax.Str):
        problem = ray_address_problem(v.value)
        return [Diagnostic("error", problem, v.span)] if problem else []
    if isinstance(rule, Prices) and isinstance(v, syntax.Price):
        return check_number(v.input, Number(0), "the input price") + \
            check_number(v.output, Number(0), "the output price")
    if isinstance(rule, WordRange) and isinstance(v, syntax.Range):
        out = []
        for n in (v.lo, v.hi):
            out += check_number(n, Number(0, None, integer=True), "word counts")
        if not out and v.lo.value > v.hi.value:
            out.append(Diagnostic("error", f"empty word range {v.lo.text}..{v.hi.text}: "
                                  "the first bound must not exceed the second", v.span))
        return out
    return []


def duplicates(settings: list[syntax.Setting], where: str) -> list[Diagnostic]:
    seen: dict[str, syntax.Setting] = {}
    out = []
    for s in settings:
        if s.key in seen:
            out.append(Diagnostic("error", f"'{s.key}' is set twice in {where} (first at line "
                                  f"{seen[s.key].span.line})", s.key_span))
        else:
            seen[s.key] = s
    return out
