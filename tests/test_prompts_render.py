"""Prompts exactly as METHOD.md section 3, with its worked examples."""

from __future__ import annotations

import pytest

from steerdsl.plan.model import Modifier, Phrase, PromptIntervention, PromptPlan
from steerdsl.prompts import builtin
from steerdsl.prompts.render import intents, join_intents, render_prompt

GOALS = ["reading_difficulty", "textual_diversity", "text_length", "formality"]
PHRASES = {g: builtin.PAPER_PHRASES[g] for g in GOALS}
DIRECT = builtin.builtin_prompt("direct", PHRASES)
TEXT = "The cat sat on the mat."
NEG = (" You MUST not change anything else about the other parts of the text, even if it makes"
       " the rewritten text sound unnatural or otherwise awkward.")
NOEX = " Respond with only the rewritten text and do not explain your response."


def iv(**kw) -> PromptIntervention:
    return PromptIntervention(name=kw.pop("name", "x"), prompt=kw.pop("prompt", "direct"), **kw)


def deltas(**kw) -> dict[str, float | None]:
    return {g: kw.get(g) for g in GOALS}


def test_worked_example_three_goals():
    d = deltas(reading_difficulty=0.55, text_length=0.15, formality=-0.3)
    assert intents(DIRECT, d) == ["much harder to read", "slightly longer", "more informal"]
    out = render_prompt(DIRECT, iv(negative=True), d, TEXT, seed=7)
    head, body = out.split("\n\n")
    assert body == TEXT
    assert head.startswith("Please rewrite the following, but make it ")
    assert head.endswith("." + NEG + NOEX)
    requests = head[len("Please rewrite the following, but make it "):-len("." + NEG + NOEX)]
    parts = requests.split(", ")
    assert len(parts) == 3 and parts[2].startswith("and ")
    assert sorted([parts[0], parts[1], parts[2][4:]]) == sorted(
        ["much harder to read", "slightly longer", "more informal"])


def test_worked_example_two_goals_modifier_inside_phrase():
    d = deltas(textual_diversity=-0.6, formality=0.12)
    assert intents(DIRECT, d) == ["use much less diverse language", "slightly more formal"]
    # Two intents: "A, and B" in some seeded order.
    seen = {render_prompt(DIRECT, iv(negative=True), d, TEXT, seed=s) for s in range(20)}
    assert seen == {
        "Please rewrite the following, but make it use much less diverse language, and slightly"
        " more formal." + NEG + NOEX + "\n\n" + TEXT,
        "Please rewrite the following, but make it slightly more formal, and use much less"
        " diverse language." + NEG + NOEX + "\n\n" + TEXT,
    }


@pytest.mark.parametrize("delta, expected", [
    (0.51, "much more formal"), (0.5, "more formal"), (0.2, "more formal"),
    (0.19, "slightly more formal"), (-0.7, "much more informal"), (-0.1, "slightly more informal"),
])
def test_modifier_thresholds_are_strict(delta, expected):
    assert intents(DIRECT, deltas(formality=delta)) == [expected]


def test_modifier_in_front_without_more_or_less():
    assert intents(DIRECT, deltas(text_length=-0.9, reading_difficulty=-0.1)) == [
        "slightly easier to read", "much shorter"]
    assert intents(DIRECT, deltas(textual_diversity=0.6)) == ["use much more diverse language"]


def test_single_intent_and_no_change():
    out = render_prompt(DIRECT, iv(), deltas(text_length=0.3), TEXT, seed=1)
    assert out == "Please rewrite the following, but make it longer." + NOEX + "\n\n" + TEXT
    out = render_prompt(DIRECT, iv(no_explain=False), deltas(), TEXT, seed=1)
    assert out == ("Please rewrite the following, but make it as close to the original as"
                   " possible.\n\n" + TEXT)


def test_join_forms():
    assert join_intents(["a"], 0) == "a"
    assert join_intents([], 0) == ""
    parts = join_intents(["a", "b", "c", "d"], 3).split(", ")
    assert len(parts) == 4 and parts[3].startswith("and ")
    assert sorted([*parts[:3], parts[3][4:]]) == ["a", "b", "c", "d"]


def test_order_is_seeded_and_reproducible():
    d = deltas(reading_difficulty=0.3, textual_diversity=0.3, text_length=0.3, formality=0.3)
    a = [render_prompt(DIRECT, iv(), d, TEXT, seed=s) for s in range(30)]
    b = [render_prompt(DIRECT, iv(), d, TEXT, seed=s) for s in range(30)]
    assert a == b
    assert len(set(a)) > 5  # the seed really changes the order


def test_underspecified_picks_one_of_ten_by_seed():
    under = builtin.builtin_prompt("underspecified", PHRASES)
    outs = {render_prompt(under, iv(negative=True), deltas(formality=0.4), TEXT, seed=s)
            for s in range(200)}
    tails = ["make it better", "improve it", "with some improvements", "make it higher-quality",
             "with more polish", "refine it", "make it less bad", "make it actually good",
             "make it worthwhile", "make it not suck"]
    expected = {f"Please rewrite the following, but {t}." + NEG + NOEX + "\n\n" + TEXT
                for t in tails}
    assert outs == expected
    assert "Please rewrite the following, but make it not suck." + NEG + NOEX + "\n\n" + TEXT in outs
    assert "Please rewrite the following, but with more polish." + NEG + NOEX + "\n\n" + TEXT in outs


def test_cot_suffix_last():
    cot = builtin.builtin_prompt("cot", PHRASES)
    out = render_prompt(cot, iv(negative=True), deltas(formality=0.3), TEXT, seed=0)
    assert out == (
        "Please rewrite the following, but make it more formal." + NEG + NOEX +
        " Before outputting the rewritten text, propose and discuss a few concrete edits you"
        " might apply to this specific text using the following format and replacing the"
        " placeholders in []:\n\n## Edits\n\n[your proposed edits]\n\n## Rewritten text\n\n"
        "[your rewritten text]\n\n" + TEXT)


def test_custom_template_and_phrases():
    terse = PromptPlan(
        name="terse", base="direct",
        template="Rewrite the text below so that it is {requests}. Output only the rewrite."
                 "{suffix}\n\n{text}",
        phrases={**PHRASES, "text_length": Phrase(up="longer", down="more concise")},
        modifiers=[Modifier(word="far", when="above", threshold=0.4)],
        negative_text=" N.", no_explain_text=" E.")
    out = render_prompt(terse, iv(negative=True), deltas(text_length=-0.45), "a {text} b", seed=0)
    # Braces in the source text are left alone; modifier goes before "more".
    assert out == ("Rewrite the text below so that it is far more concise. Output only the"
                   " rewrite. N. E.\n\na {text} b")


def test_unknown_goal_is_a_clear_error():
    with pytest.raises(ValueError, match="no phrase for goal"):
        render_prompt(DIRECT, iv(), {"politeness": 0.3}, TEXT, seed=0)
