"""The judge block and `grounding`: parsing, every check with its exact message and place,
and what the plan builder makes of it."""

from __future__ import annotations

import steerdsl
from steerdsl import catalog
from test_lang_check import errors, write

JUDGE = "judge meaning {\n  model m\n  prompt groundedness\n}\n"
GROUNDED = "evaluate {\n  probe p\n  models m\n  interventions i\n  grounding meaning\n}\n"


def test_a_judge_in_evaluate_gives_judge_plans_and_grounding(tmp_path):
    judge = JUDGE + ("judge mine { model m  prompt template \"A: {version_a} B: {version_b} "
                     "{\\\"answer\\\": \\\"Yes\\\"}\"  order both  spot_check 16  judge all }\n")
    plan = steerdsl.load(write(tmp_path, judge=judge, evaluate=GROUNDED)).plan()
    meaning, mine = plan.judges
    assert (meaning.name, meaning.model, meaning.prompt, meaning.template, meaning.order,
            meaning.spot_check, meaning.candidates) == (
        "meaning", "m", "groundedness", catalog.GROUNDEDNESS_TEMPLATE, "random", 0, "selected")
    assert (mine.prompt, mine.template, mine.order, mine.spot_check, mine.candidates) == (
        "custom", 'A: {version_a} B: {version_b} {"answer": "Yes"}', "both", 16, "all")
    assert plan.evaluate.grounding == "meaning"
    assert plan.stages[-1].id == "judge:m/i"


def test_the_prompt_defaults_to_the_built_in(tmp_path):
    plan = steerdsl.load(write(tmp_path, judge="judge meaning { model m }\n",
                               evaluate=GROUNDED)).plan()
    assert plan.judges[0].prompt == "groundedness"
    assert plan.judges[0].template == catalog.GROUNDEDNESS_TEMPLATE


def test_the_built_in_prompt_has_both_placeholders_and_asks_for_json():
    for p in catalog.JUDGE_PLACEHOLDERS:
        assert catalog.GROUNDEDNESS_TEMPLATE.count("{" + p + "}") == 1
    assert '{"answer": "Yes" or "No", "rationale":' in catalog.GROUNDEDNESS_TEMPLATE


def test_a_judge_without_a_model(tmp_path):
    assert errors(tmp_path, judge="judge meaning { prompt groundedness }\n") == [
        "27:7: judge 'meaning' needs a model: model NAME (a model block)"]


def test_a_judge_naming_no_model_suggests_the_closest(tmp_path):
    assert errors(tmp_path, judge="judge meaning { model mm }\n") == [
        "27:23: unknown model 'mm' (defined: m); did you mean 'm'?"]


def test_a_template_needs_both_versions_and_no_unknown_placeholder(tmp_path):
    judge = 'judge meaning {\n  model m\n  prompt template "A: {version_a} B: {versoin_b}"\n}\n'
    assert errors(tmp_path, judge=judge) == [
        "29:19: the judge's template must contain {version_a} and {version_b} (where the "
        "source and the rewrite go)",
        "29:19: unknown placeholder '{versoin_b}' in template (known: {version_a}, "
        "{version_b}); did you mean '{version_b}'?"]


def test_settings_are_checked_and_set_once(tmp_path):
    judge = "judge meaning {\n  model m\n  model m\n  spot_check 2.5\n  spot_check -1\n}\n"
    assert errors(tmp_path, judge=judge) == [
        "29:3: 'model' is set twice in judge meaning (first at line 28)",
        "30:14: 'spot_check' takes a whole number, got 2.5",
        "31:3: 'spot_check' is set twice in judge meaning (first at line 30)",
        "31:14: 'spot_check' must be at least 0, got -1"]


def test_duplicate_judges(tmp_path):
    assert errors(tmp_path, judge=JUDGE * 2) == [
        "31:7: duplicate judge 'meaning' (first defined at line 27)"]


def test_grounding_naming_no_judge(tmp_path):
    assert errors(tmp_path, judge=JUDGE, evaluate=GROUNDED.replace("meaning", "meanin")) == [
        "26:13: unknown judge 'meanin' (defined: meaning); did you mean 'meaning'?"]


def test_grounding_without_a_judge_block(tmp_path):
    assert errors(tmp_path, evaluate=GROUNDED) == [
        "26:13: 'grounding' names a judge, but the spec has no judge block "
        "(judge NAME { model MODEL prompt groundedness })"]


def test_a_judge_that_does_not_parse_excuses_grounding(tmp_path):
    got = errors(tmp_path, judge="judge meaning { model m  order sometimes }\n",
                 evaluate=GROUNDED)
    assert got == ["28:32: unexpected 'sometimes'; expected one of 'both', 'random'"]


def test_unknown_setting_in_a_judge_block(tmp_path):
    assert errors(tmp_path, judge="judge meaning { model m  spotcheck 3 }\n") == [
        "27:26: unknown setting 'spotcheck' in judge block (settings here: judge, model, "
        "order, prompt, spot_check); did you mean 'spot_check'?"]


def test_under_a_budget_the_grounding_judges_model_needs_a_price(tmp_path):
    experiment = 'experiment e {\n  seed 1\n  budget 5\n}\n'
    model = ('model m {\n  litellm "openai/x"\n  api_base "http://127.0.0.1:9/v1"\n'
             '  price in 1 out 1\n}\n')
    judge = 'judge meaning { model referee }\nmodel referee { litellm "openai/referee" }\n'
    path = write(tmp_path, experiment=experiment, model=model, judge=judge, evaluate=GROUNDED)
    warnings = steerdsl.load(path).warnings
    assert [f"{d.span.line}:{d.span.col}: {d.text}" for d in warnings] == [
        "30:25: model 'referee' has no known price (litellm has none for 'openai/referee'): "
        "under the budget its calls count as $0; declare one in its model block: price in X "
        "out Y (US dollars per million input and output tokens)"]
