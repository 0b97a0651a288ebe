"""The built-in prompts (METHOD.md section 3) as PromptPlan pieces, and request phrases.

The exact texts live here, once: the plan carries them to the runtime, which renders prompts
from the plan alone.
"""

from __future__ import annotations

from steerdsl.plan.model import Modifier

DIRECT_TEMPLATE = "Please rewrite the following, but make it {requests}.{suffix}\n\n{text}"
# Underspecified: {requests} is one whole vague request sentence.
UNDERSPECIFIED_TEMPLATE = "{requests}{suffix}\n\n{text}"

NEGATIVE_TEXT = (" You MUST not change anything else about the other parts of the text, even if"
                 " it makes the rewritten text sound unnatural or otherwise awkward.")
NO_EXPLAIN_TEXT = " Respond with only the rewritten text and do not explain your response."
COT_TEXT = (" Before outputting the rewritten text, propose and discuss a few concrete edits you"
            " might apply to this specific text using the following format and replacing the"
            " placeholders in []:\n\n## Edits\n\n[your proposed edits]\n\n## Rewritten text\n\n"
            "[your rewritten text]")
COT_ANSWER_AFTER = "## Rewritten text"
NO_CHANGE = "as close to the original as possible"
# A calibrated request's intent for a goal whose side effect it expects (docs/method.md,
# "Calibrated requests"); the goal's name with spaces for underscores.
KEEP_UNCHANGED = "keep {goal} unchanged"

# Closed-loop feedback (docs/method.md): the message asking for a revision, and one sentence
# per goal that missed its target. {goal}: the goal's name, "_" read as a space; {asked},
# {got}, {fix}: the requested, realized and still needed movement in the prompt's phrases.
FEEDBACK_TEMPLATE = ("Your rewrite did not change the text as asked. {feedback} Please revise "
                     "your rewrite.{suffix}")
FEEDBACK_MOVED = "{goal}: asked to make it {asked}, you made it {got}; now make it {fix}."
FEEDBACK_UNMOVED = "{goal}: asked to make it {asked}, it did not change; now make it {fix}."
FEEDBACK_UNASKED = "{goal}: asked to keep it unchanged, you made it {got}; now make it {fix}."

VAGUE_REQUESTS = [
    f"Please rewrite the following, but {tail}."
    for tail in (
        "make it better", "improve it", "with some improvements", "make it higher-quality",
        "with more polish", "refine it", "make it less bad", "make it actually good",
        "make it worthwhile", "make it not suck",
    )
]

DEFAULT_MODIFIERS = [
    Modifier(word="much", when="above", threshold=0.5),
    Modifier(word="slightly", when="below", threshold=0.2),
]


def base_template(base: str) -> str:
    return UNDERSPECIFIED_TEMPLATE if base == "underspecified" else DIRECT_TEMPLATE
