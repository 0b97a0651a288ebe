"""The paper's prompt texts (METHOD.md section 3), as the default values of a PromptPlan.

The front end fills plans from here, so the texts live in exactly one place. Templates take
{requests} (the joined intents, or one vague request), {suffix} (negative / no-explain / cot
suffixes, in that order) and {text} (the source text).
"""

from __future__ import annotations

from steerdsl.plan.model import Modifier, Phrase, PromptPlan

# User turn = instruction + "\n\n" + source text.
DIRECT_TEMPLATE = "Please rewrite the following, but make it {requests}.{suffix}\n\n{text}"
# The vague requests are fragments ("improve it", "with more polish"), so the template does
# not say "make it".
UNDERSPECIFIED_TEMPLATE = "Please rewrite the following, but {requests}.{suffix}\n\n{text}"

VAGUE_REQUESTS: tuple[str, ...] = (
    "make it better",
    "improve it",
    "with some improvements",
    "make it higher-quality",
    "with more polish",
    "refine it",
    "make it less bad",
    "make it actually good",
    "make it worthwhile",
    "make it not suck",
)

MODIFIERS: tuple[Modifier, ...] = (
    Modifier(word="much", when="above", threshold=0.5),
    Modifier(word="slightly", when="below", threshold=0.2),
)

NO_CHANGE = "as close to the original as possible"

NEGATIVE_TEXT = (
    " You MUST not change anything else about the other parts of the text, even if it makes"
    " the rewritten text sound unnatural or otherwise awkward."
)
NO_EXPLAIN_TEXT = " Respond with only the rewritten text and do not explain your response."
COT_TEXT = (
    " Before outputting the rewritten text, propose and discuss a few concrete edits you might"
    " apply to this specific text using the following format and replacing the placeholders"
    " in []:\n\n## Edits\n\n[your proposed edits]\n\n## Rewritten text\n\n[your rewritten text]"
)
# cot: the answer is the text after the header line carrying this title.
COT_ANSWER_AFTER = "Rewritten text"

# The paper's phrase table (delta > 0, delta < 0), by the paper's goal names. Other goals take
# their phrases from steerdsl.catalog.MEASURES (up/down of the goal's measure).
PAPER_PHRASES: dict[str, Phrase] = {
    "reading_difficulty": Phrase(up="harder to read", down="easier to read"),
    "textual_diversity": Phrase(up="use more diverse language", down="use less diverse language"),
    "text_length": Phrase(up="longer", down="shorter"),
    "formality": Phrase(up="more formal", down="more informal"),
}


def builtin_prompt(base: str, phrases: dict[str, Phrase], name: str | None = None) -> PromptPlan:
    """The PromptPlan of a built-in strategy ("direct", "underspecified" or "cot") for a spec
    whose goals have `phrases`."""
    common = dict(
        name=name or base,
        phrases=dict(phrases),
        modifiers=list(MODIFIERS),
        no_change=NO_CHANGE,
        negative_text=NEGATIVE_TEXT,
        no_explain_text=NO_EXPLAIN_TEXT,
    )
    if base == "direct":
        return PromptPlan(base="direct", template=DIRECT_TEMPLATE, **common)
    if base == "underspecified":
        return PromptPlan(base="underspecified", template=UNDERSPECIFIED_TEMPLATE,
                          vague_requests=list(VAGUE_REQUESTS), **common)
    if base == "cot":
        return PromptPlan(base="cot", template=DIRECT_TEMPLATE, cot_text=COT_TEXT,
                          answer_after=COT_ANSWER_AFTER, **common)
    raise ValueError(f"unknown built-in prompt {base!r}")
