"""Names that refer to blocks (and to other things a spec names), by where they are written.

A spec's names live in one namespace per kind (a model and a probe may share a name), so a
reference's kind comes from its place: the block and the keyword before it.
"""

from __future__ import annotations

from steerdsl import catalog
from steerdsl.lang.checks.finetune import REWARD_METRICS
from steerdsl.lang.keywords import FINETUNE_METHODS
from steerdsl.lang.symbols import Symbols

# (block, keyword before the name or list of names) -> the kind of name written there
REFERENCES: dict[tuple[str, str], str] = {
    ("probe", "from"): "corpus",
    ("probe", "goals"): "goal",
    ("probe", "exclude"): "probe",
    ("intervention", "prompt"): "prompt",
    ("intervention", "on"): "probe",
    ("intervention", "finetune"): "method",
    ("intervention", "reward"): "reward",
    ("prompt", "extends"): "prompt",
    ("prompt", "phrase"): "goal",
    ("judge", "model"): "model",
    ("goals", "judge"): "model",
    ("goals", "of"): "corpus",
    ("evaluate", "probe"): "probe",
    ("evaluate", "models"): "model",
    ("evaluate", "interventions"): "intervention",
    ("evaluate", "grounding"): "judge",
}
# In a goal's expression (after `=`, an operator or a parenthesis) names are built-in measures.
EXPRESSION_SIGNS = ("=", "+", "-", "*", "/", "(")


def reference_kind(block: str | None, words: list[str]) -> str | None:
    """The kind of name that may follow `words` (a block's words so far) in `block`."""
    if not words or block is None:
        return None
    i = len(words) - 1
    while i >= 1 and words[i] == ",":  # a list: `models a, b, `
        i -= 2
    if i < 0:
        return None
    key = words[i]
    if block == "goals" and key in EXPRESSION_SIGNS:
        return "measure"
    if block == "intervention" and len(words) >= 2 and words[-2] == "reward" \
            and words[-1] == "error":
        return "goal"  # reward error GOAL
    return REFERENCES.get((block, key))


def names_of(kind: str, sym: Symbols) -> list[str]:
    """The names a reference of this kind may take."""
    if kind == "prompt":
        return sym.prompt_names()  # the built-in prompts and the spec's own
    builtin = {"method": FINETUNE_METHODS, "reward": REWARD_METRICS,
               "measure": tuple(catalog.MEASURES)}
    return list(builtin.get(kind, _declared(sym).get(kind, {})))


def definition(kind: str, name: str, sym: Symbols):
    """The syntax node of the block (or goal) of this kind and name, if the spec has one."""
    return _declared(sym).get(kind, {}).get(name)


def _declared(sym: Symbols) -> dict[str, dict]:
    return {"corpus": sym.corpora, "goal": sym.goals, "probe": sym.probes,
            "model": sym.models, "intervention": sym.interventions, "judge": sym.judges,
            "prompt": sym.prompts}
