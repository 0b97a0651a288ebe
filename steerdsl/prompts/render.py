"""Rendering the user turn of one probe row (METHOD.md section 3)."""

from __future__ import annotations

import random
import re

from steerdsl.plan.hashing import derive_seed
from steerdsl.plan.model import InterventionPlan, Modifier, Phrase, PromptPlan
from steerdsl.plan.prompts import KEEP_UNCHANGED

_PLACEHOLDER = re.compile(r"\{(requests|suffix|text)\}")
_MORE_LESS = re.compile(r"\b(more|less)\b")


def render_prompt(prompt: PromptPlan, intervention: InterventionPlan,
                  deltas: dict[str, float | None], text: str, seed: int,
                  keep: tuple[str, ...] = ()) -> str:
    """The user message for one row. `deltas` maps goal names to requested changes (None or
    0 = not requested); `seed` orders the intents (direct, cot) or picks the vague request
    (underspecified); `keep`: goals asked to stay unchanged (calibrated requests), intents
    after the moves before shuffling."""
    if prompt.base == "underspecified":
        if not prompt.vague_requests:
            raise ValueError(f"prompt {prompt.name!r} has no vague requests")
        requests = random.Random(seed).choice(prompt.vague_requests)
    else:
        said = intents(prompt, deltas) + [keep_phrase(g) for g in keep]
        requests = join_intents(said, seed) or prompt.no_change
    values = {"requests": requests, "suffix": suffix(prompt, intervention), "text": text}
    # One pass over the template only: braces inside the source text are never touched.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], prompt.template)


def row_prompt(experiment_seed: int, prompt: PromptPlan, intervention: InterventionPlan,
               row_id: int, deltas: dict[str, float | None], text: str,
               keep: tuple[str, ...] = ()) -> str:
    """The user message of probe row `row_id` under an intervention: what the generate stage
    sends and training prompts with (the seed depends on the intervention's name and the row)."""
    seed = derive_seed(experiment_seed, "prompt", intervention.name, str(row_id))
    return render_prompt(prompt, intervention, deltas, text, seed, keep)


def keep_phrase(goal: str) -> str:
    """"keep reading difficulty unchanged": a calibrated request's intent for a side effect."""
    return KEEP_UNCHANGED.format(goal=goal.replace("_", " "))


def suffix(prompt: PromptPlan, intervention: InterventionPlan) -> str:
    parts = []
    if intervention.negative:
        parts.append(prompt.negative_text)
    if intervention.no_explain:
        parts.append(prompt.no_explain_text)
    if prompt.cot_text:
        parts.append(prompt.cot_text)
    return "".join(parts)


def intents(prompt: PromptPlan, deltas: dict[str, float | None]) -> list[str]:
    """The requested changes as phrases, in the order of the prompt's phrase table (the goal
    order), before shuffling."""
    unknown = [g for g, d in deltas.items() if d and g not in prompt.phrases]
    if unknown:
        raise ValueError(f"prompt {prompt.name!r} has no phrase for goal(s) {', '.join(unknown)}")
    out = []
    for goal, phrase in prompt.phrases.items():
        delta = deltas.get(goal)
        if delta:  # None (inactive) and 0 request nothing
            out.append(intent(phrase, delta, prompt.modifiers))
    return out


def intent(phrase: Phrase, delta: float, modifiers: list[Modifier]) -> str:
    words = phrase.up if delta > 0 else phrase.down
    word = modifier(abs(delta), modifiers)
    if word is None:
        return words
    m = _MORE_LESS.search(words)
    # "use much more diverse language", but "much more formal" and "slightly shorter".
    if m and m.start() > 0:
        return f"{words[:m.start()]}{word} {words[m.start():]}"
    return f"{word} {words}"


def modifier(magnitude: float, modifiers: list[Modifier]) -> str | None:
    for m in modifiers:
        if (m.when == "above" and magnitude > m.threshold) or (
                m.when == "below" and magnitude < m.threshold):
            return m.word
    return None


def join_intents(items: list[str], seed: int) -> str:
    """Seeded order; "A", "A, and B", "A, B, and C"."""
    items = list(items)
    random.Random(seed).shuffle(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]
