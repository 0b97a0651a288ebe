"""The canonical order of the settings of each block, derived, never listed by hand.

The grammar gives the order of a block's items (its alternatives as written: a model's
provider, then its key, then the plain settings, its price, its deployments); the keyword
tables of steerdsl.lang.keywords give the order of the plain settings among themselves. A
setting added to the grammar and its table is ordered without an edit here.
"""

from __future__ import annotations

from functools import lru_cache

from lark.grammar import NonTerminal, Terminal

from steerdsl.lang.grammar import parser
from steerdsl.lang.keywords import TABLES


@lru_cache(maxsize=None)
def setting_order(block: str) -> tuple[str, ...]:
    """The keywords that start an item of `block` (a grammar rule: "model", "deployment"),
    in canonical order."""
    order = _first_keywords(block)
    table = [k for k in TABLES.get(block, {}) if k in order]
    # The table's keywords take the places the grammar gives them as a group, in the
    # table's order.
    slots = iter(table)
    return tuple(next(slots) if k in table else k for k in order)


def rank(block: str, keyword: str) -> int:
    """Where an item starting with `keyword` goes among its block's items (unknown: last)."""
    order = setting_order(block)
    return order.index(keyword) if keyword in order else len(order)


def _first_keywords(block: str) -> list[str]:
    rules: dict[str, list[list]] = {}
    for r in parser().rules:
        rules.setdefault(r.origin.name, []).append(r.expansion)
    keywords = {t.name: t.pattern.value for t in parser().terminals
                if t.pattern.type == "str" and t.pattern.value.isidentifier()}
    order: list[str] = []
    seen: set[str] = set()

    def firsts(rule: str) -> None:
        # The keyword each alternative of `rule` starts with, through nested rules.
        if rule in seen:
            return
        seen.add(rule)
        for expansion in rules.get(rule, []):
            head = expansion[0] if expansion else None
            if isinstance(head, Terminal) and head.name in keywords:
                if keywords[head.name] not in order:
                    order.append(keywords[head.name])
            elif isinstance(head, NonTerminal):
                firsts(head.name)

    seen.add(block)
    for expansion in rules.get(block, []):
        for symbol in expansion[1:]:  # past the block's own keyword: its header and items
            if isinstance(symbol, NonTerminal):
                firsts(symbol.name)
    return order
