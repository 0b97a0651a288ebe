"""The checker: every class of error, with its exact message and place."""

from __future__ import annotations

from pathlib import Path

import pytest

import steerdsl
from steerdsl.lang.diagnostics import SpecError

BASE = {
    "experiment": 'experiment e {\n  seed 1\n  store "runs/e.duckdb"\n}\n',
    "corpus": 'corpus c {\n  read "c.jsonl" text "text"\n}\n',
    "goals": ("goals {\n  reading_difficulty = flesch_kincaid_grade normalize 2.8..12.9\n"
              "  formality = heylighen_dewaele normalize 40.37..69.121634\n}\n"),
    "probe": ("probe p from c {\n  sources 2 unweighted\n  requests 2 per source\n"
              "  active 1\n}\n"),
    "model": 'model m {\n  litellm "openai/x"\n  api_base "http://127.0.0.1:9/v1"\n}\n',
    "intervention": "intervention i { prompt direct }\n",
    "evaluate": "evaluate {\n  probe p\n  models m\n  interventions i\n}\n",
}


def write(tmp_path: Path, **blocks: str) -> Path:
    (tmp_path / "c.jsonl").write_text('{"text": "a b c"}\n{"text": "d e"}\n', encoding="utf-8")
    parts = {**BASE, **blocks}
    path = tmp_path / "s.steer"
    path.write_text("".join(v for v in parts.values() if v), encoding="utf-8")
    return path


def errors(tmp_path: Path, **blocks: str) -> list[str]:
    path = write(tmp_path, **blocks)
    with pytest.raises(SpecError) as info:
        steerdsl.load(path)
    return [f"{d.span.line}:{d.span.col}: {d.text}" for d in info.value.diagnostics]


def test_the_base_spec_is_valid(tmp_path):
    plan = steerdsl.load(write(tmp_path)).plan()
    assert [s.id for s in plan.stages] == [
        "corpus:c", "measure:c", "space", "probe:p", "generate:m/i", "score:m/i"]


def test_unknown_goal_in_probe_suggests_the_closest(tmp_path):
    probe = BASE["probe"].replace("active 1\n", "active 1\n  goals formalty\n")
    assert errors(tmp_path, probe=probe) == [
        "16:9: unknown goal 'formalty' (defined: reading_difficulty, formality); "
        "did you mean 'formality'?"]


def test_undefined_references_of_every_kind(tmp_path):
    got = errors(
        tmp_path,
        probe=BASE["probe"].replace("from c", "from cc"),
        intervention="intervention i { prompt drect }\n",
        evaluate="evaluate {\n  probe pp\n  models m, mm\n  interventions i, j\n}\n",
        goals=("goals {\n  reading_difficulty = flesch_kincaid_grad normalize 2.8..12.9\n"
               "  formality = heylighen_dewaele normalize quantile 2.5%..97.5% of cc\n"
               "  politeness = judge jj rubric \"polite?\" scale 0..10\n}\n"),
    )
    assert got == [
        "9:24: unknown measure 'flesch_kincaid_grad'; did you mean 'flesch_kincaid_grade'?",
        "10:67: unknown corpus 'cc' (defined: c); did you mean 'c'?",
        "11:22: unknown model 'jj' (defined: m)",
        "13:14: unknown corpus 'cc' (defined: c); did you mean 'c'?",
        "22:25: unknown prompt 'drect' (defined: direct, underspecified, cot); "
        "did you mean 'direct'?",
        "24:9: unknown probe 'pp' (defined: p); did you mean 'p'?",
        "25:13: unknown model 'mm' (defined: m); did you mean 'm'?",
        "26:20: unknown intervention 'j' (defined: i)",
    ]


def test_duplicate_names_and_blocks(tmp_path):
    got = errors(tmp_path, model=BASE["model"] * 2,
                 intervention="intervention i { prompt direct }\n" * 2,
                 evaluate=BASE["evaluate"] * 2)
    assert got == [
        "21:7: duplicate model 'm' (first defined at line 17)",
        "26:14: duplicate intervention 'i' (first defined at line 25)",
        "32:1: a spec has one evaluate block (first at line 27); merge them",
    ]


def test_types_units_and_ranges(tmp_path):
    got = errors(
        tmp_path,
        experiment='experiment e {\n  seed -1\n  store "x.duckdb"\n  budget 0\n}\n',
        goals=("goals {\n  a = char_count normalize 5..5\n"
               "  b = char_count normalize quantile 2.5..100%  of c\n"
               "  c = char_count normalize 1%..2\n}\n"),
        probe=("probe p from c {\n  sources 0 unweighted\n  requests 2.5 per source\n"
               "  active 3\n  delta 0.1..0.7 deadzone 0.5\n}\n"),
        model=('model m {\n  litellm "x"\n  temperature 2.5\n  top_p 50%\n  min_p -0.1\n'
               '  max_tokens 10.0\n  concurrency 0\n}\n'),
        intervention="intervention i { prompt direct sample 0 select first }\n",
    )
    assert got == [
        "2:8: 'seed' must be at least 0, got -1",
        "4:10: 'budget' must be above 0, got 0",
        "10:28: normalize 5..5: the lower bound must be below the upper one",
        "11:37: quantiles are percentages; did you mean '2.5%'?",
        "11:42: a quantile must be between 0% and 100% (exclusive), got 100%",
        "12:28: fixed bounds are raw values, not percentages (for percentiles write normalize "
        "quantile A%..B% of CORPUS)",
        "15:11: 'sources' must be at least 1, got 0",
        "16:12: 'requests' takes a whole number, got 2.5",
        "18:9: delta 0.1..0.7 must allow both directions: min < 0 < max",
        "18:27: the deadzone must be below 0.5, got 0.5",
        "22:15: 'temperature' must be between 0 and 2, got 2.5",
        "23:9: 'top_p' takes a plain number, not a percentage; did you mean '0.5'?",
        "24:9: 'min_p' must be between 0 and 1, got -0.1",
        "25:14: 'max_tokens' takes a whole number, got 10.0",
        "26:15: 'concurrency' must be at least 1, got 0",
        "28:39: 'sample' must be at least 1, got 0",
    ]


def test_active_cannot_exceed_the_probe_goals(tmp_path):
    probe = BASE["probe"].replace("active 1", "active 1..3\n  goals formality")
    assert errors(tmp_path, probe=probe) == [
        "15:13: 'active' is 3 but probe 'p' may move only 1 goal"]


def test_missing_required_settings(tmp_path):
    got = errors(tmp_path, probe="probe p from c { sources 2 }\n", model="model m { rpm 5 }\n",
                 evaluate="evaluate { probe p }\n", corpus="corpus c { dedupe }\n")
    assert got == [
        "5:8: corpus 'c' reads nothing: add read \"PATH\" text \"COLUMN\"",
        "10:7: probe 'p' needs 'active' (e.g. active 3)",
        "10:7: probe 'p' needs 'requests' (e.g. requests 32 per source)",
        "11:7: model 'm' needs a provider: litellm \"PROVIDER/MODEL\" or local \"smollm2\"",
        "13:1: evaluate needs 'interventions' (interventions direct)",
        "13:1: evaluate needs 'models' (models a, b)",
    ]


def test_templates_need_text_and_known_placeholders(tmp_path):
    prompt = 'prompt t extends direct {\n  template "Make it {requests} {reqests}"\n}\n'
    got = errors(tmp_path, intervention=prompt + "intervention i { prompt t }\n")
    assert got == [
        "22:12: the template must contain {text} (where the source text goes)",
        "22:12: unknown placeholder '{reqests}' in template (known: {requests}, {suffix}, "
        "{text}); did you mean '{requests}'?",
    ]


def test_every_movable_goal_needs_a_phrase_in_every_prompt_used(tmp_path):
    goals = ("goals {\n  formality = heylighen_dewaele normalize 40.37..69.121634\n"
             "  pol = char_count / word_count normalize 0..10\n}\n")
    got = errors(tmp_path, goals=goals,
                 intervention="intervention i { prompt cot }\n")
    assert got == [
        "21:25: goal 'pol' may be moved by probe 'p' but prompt 'cot' (used by intervention "
        "'i') has no phrase for it: add  phrase pol up \"...\" down \"...\"  to a prompt "
        "extending cot"]
    # a phrase in a custom prompt, or the probe not moving the goal, or a prompt that asks
    # vaguely, each make it valid
    ok = 'prompt t extends cot { phrase pol up "denser" down "sparser" }\n'
    steerdsl.load(write(tmp_path, goals=goals,
                        intervention=ok + "intervention i { prompt t }\n"))
    steerdsl.load(write(tmp_path, goals=goals,
                        probe=BASE["probe"].replace("active 1", "active 1 goals formality")))
    steerdsl.load(write(tmp_path, goals=goals,
                        intervention="intervention i { prompt underspecified }\n"))


def test_literal_api_key_is_an_error_that_never_shows_the_key(tmp_path):
    model = 'model m {\n  litellm "x"\n  api_key "sk-live-TOPSECRET"\n}\n'
    path = write(tmp_path, model=model)
    with pytest.raises(SpecError) as info:
        steerdsl.load(path)
    text = info.value.render()
    assert "TOPSECRET" not in text and "TOPSECRET" not in str(info.value)
    assert text.splitlines()[:3] == [
        f"{path}:19:3: error: API keys must not be written in a spec (the key is not shown "
        "here): use api_key env VARIABLE and set the variable",
        "    api_key " + "*" * 19,
        "    " + "^" * 27,
    ]


def test_missing_files_are_reported_at_their_string(tmp_path):
    corpus = 'corpus c {\n  read "nope/*.csv" text "t"\n  read "gone.jsonl"\n}\n'
    got = errors(tmp_path, corpus=corpus, probe="probe p from csv \"missing.csv\"\n")
    assert got == [
        f"6:8: no file matches nope/*.csv (looked at {tmp_path}/nope/*.csv)",
        f"7:8: file not found: gone.jsonl (looked at {tmp_path}/gone.jsonl)",
        f"13:18: probe file not found: missing.csv (looked at {tmp_path}/missing.csv)",
    ]


def test_python_goals_are_found_without_running_them(tmp_path):
    (tmp_path / "mine.py").write_text("raise SystemExit('must not run')\n"
                                      "def score(text):\n    return 1.0\n", encoding="utf-8")
    goals = ('goals {\n  a = python "mine:score" normalize 0..1\n'
             '  b = python "mine:nothing" normalize 0..1\n'
             '  c = python "absent_module_xyz:f" normalize 0..1\n'
             '  d = python "no colon" normalize 0..1\n}\n')
    probe = BASE["probe"].replace("active 1", "active 1 goals a")
    intervention = ('prompt t extends direct { phrase a up "more" down "less" }\n'
                    "intervention i { prompt t }\n")
    assert errors(tmp_path, goals=goals, probe=probe, intervention=intervention) == [
        "10:14: module 'mine' (mine.py) defines no 'nothing'",
        "11:14: module 'absent_module_xyz' not found next to the spec or on the Python path",
        "12:14: 'no colon' is not of the form \"module:function\"",
    ]


def test_errors_in_broken_blocks_do_not_cascade(tmp_path):
    # The model block does not parse: references to it are not reported again.
    got = errors(tmp_path, model='model m { litellm "x" tempreture 0 }\n')
    assert len(got) == 1 and got[0].startswith("17:23: unknown setting 'tempreture'")
    assert got[0].endswith("did you mean 'temperature'?")


def test_a_spec_needs_an_experiment(tmp_path):
    assert errors(tmp_path, experiment="") == [
        '1:1: the spec has no experiment block (experiment NAME { seed 42 store '
        '"runs/NAME.duckdb" })']


def test_references_to_a_broken_goal_are_not_reported_again(tmp_path):
    goals = ("goals {\n  reading_difficulty = flesch_kincaid_grade normalize 2.8..12.9\n"
             "  formality = heylighen_dewaele normalize 40.37..69.121634 +\n}\n")
    probe = BASE["probe"].replace("active 1\n", "active 1\n  goals formality, formalty\n")
    assert errors(tmp_path, goals=goals, probe=probe) == [
        "10:60: unexpected '+'; expected one of '%', 'question', '}', a name",
        "16:20: unknown goal 'formalty' (defined: reading_difficulty)",
    ]


def test_a_spec_that_is_not_utf8_is_a_placed_error(tmp_path):
    path = tmp_path / "bin.steer"
    path.write_bytes(b"experiment e {\n  seed 1 \xff\n}\n")
    with pytest.raises(SpecError) as info:
        steerdsl.load(path)
    assert [(d.span.line, d.span.col, d.text) for d in info.value.diagnostics] == [
        (2, 10, "the spec is not valid UTF-8 (byte 0xff)")]


def test_a_store_given_as_the_spec_is_named_and_not_echoed(tmp_path, capsys):
    from steerdsl.cli import main
    from steerdsl.store.db import open_store

    open_store(tmp_path / "s.duckdb").close()
    (tmp_path / "b.steer").write_bytes(b"experiment\x00 e {}")
    assert main(["review", str(tmp_path / "s.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"{tmp_path / 's.duckdb'}:1:1: error: this is not a spec: it is a DuckDB file (a "
        "store?); give the .steer file", "1 error"]
    assert main(["check", str(tmp_path / "b.steer")]) == 2
    assert "it is a binary file" in capsys.readouterr().err
