"""`steerdsl validate-goals`: Kendall's tau-b, answer parsing and pair drawing on hand-computed
examples; the command against a loopback judge (agreeing: tau 1, reversed: tau -1, garbage:
unparsed), answers cached so a rerun asks nothing twice, and usage errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from steerdsl.cli import main
from steerdsl.goals.validation import (
    agreement,
    draw_pairs,
    goal_question,
    goal_score,
    kendall_tau_b,
    parse_answer,
    question_prompt,
)
from steerdsl.plan.build import builtin_goal
from steerdsl.plan.model import FixedNorm
from support.fake_openai import FakeOpenAI, Reply
from support.stores import read_rows

# --- the pure part ---------------------------------------------------------------------------


def test_tau_b_without_ties():
    # pairs (1,2) and (1,3) concordant, (2,3) discordant: (2 - 1) / 3
    assert kendall_tau_b([1, 2, 3], [1, 3, 2]) == 1 / 3
    assert kendall_tau_b([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    assert kendall_tau_b([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0


def test_tau_b_with_ties():
    # x ties on (1,2), y ties on (2,3), (1,3) concordant: 1 / sqrt((3 - 1) * (3 - 1))
    assert kendall_tau_b([1, 1, 2], [1, 2, 2]) == 0.5
    # x = (+1, 0, -1, +1), y = (+1, +1, -1, 0): concordant (1,3) (2,3) (3,4), discordant
    # (2,4), x ties 1 (pair 1,4), y ties 1 (pair 1,2), 6 pairs: (3 - 1) / sqrt(5 * 5)
    assert kendall_tau_b([1, 0, -1, 1], [1, 1, -1, 0]) == 0.4
    # answers that agree, ties included, give exactly 1
    assert kendall_tau_b([1, 0, -1, 0, 1], [1, 0, -1, 0, 1]) == 1.0


def test_tau_b_undefined():
    assert math.isnan(kendall_tau_b([], []))
    assert math.isnan(kendall_tau_b([1], [1]))
    assert math.isnan(kendall_tau_b([1, 1, 1], [1, 2, 3]))  # one side never varies
    with pytest.raises(ValueError):
        kendall_tau_b([1, 2], [1])


@pytest.mark.parametrize("raw, expected", [
    ("A", "a"), ("b", "b"), ("Tie", "tie"), ("TIE.", "tie"), ("**B**", "b"), ("'A'", "a"),
    ("Answer: B", "b"), ("The answer is A.", "a"), ("Version B", "b"),
    ("B is harder to read.", "b"), ("A tie.", "tie"), ("It's a tie.", "tie"),
    ("<think>A or B? A seems longer.</think>B", "b"), ("I'd say version B.", "b"),
    ("Both are the same length.", "tie"),
    ("I cannot tell", None), ("", None), ("lorem ipsum", None),
    ("Version A is clear but version B is not", None), ("<think>A", None),
])
def test_parse_answer(raw, expected):
    assert parse_answer(raw) == expected


def test_goal_score_ties_below_a_tenth():
    assert [goal_score(d) for d in (0.3, -0.3, 0.0999, -0.0999, 0.1, -0.1)] == \
        [1, -1, 0, 0, 1, -1]


def test_pairs_are_distinct_seeded_and_ordered_by_the_seed():
    pairs = draw_pairs(50, 100, seed=7)
    assert pairs == draw_pairs(50, 100, seed=7) != draw_pairs(50, 100, seed=8)
    assert len({frozenset(p) for p in pairs}) == 100 and all(a != b for a, b in pairs)
    assert 20 < sum(a > b for a, b in pairs) < 80  # A/B order drawn, not always the smaller
    few = draw_pairs(4, 250, seed=7)  # fewer pairs than asked: all six
    assert sorted(tuple(sorted(p)) for p in few) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3),
                                                       (2, 3)]


def test_agreement_counts():
    result = agreement("g", "Which?", ["a", "b", "tie", "", None, "a"],
                       [0.5, -0.5, 0.05, 0.3, 0.3, float("nan")])
    assert (result.pairs, result.answered, result.unparsed, result.missing, result.judge_ties,
            result.goal_ties, result.tau) == (6, 3, 1, 2, 1, 1, 1.0)
    assert not result.complete


def test_questions_of_the_paper_goals():
    def goal(name, measure):
        return builtin_goal(name, measure, FixedNorm(lo=0.0, hi=1.0))

    assert goal_question(goal("reading_difficulty", "flesch_kincaid_grade")) == \
        "Which version is harder to read?"
    assert goal_question(goal("formality", "heylighen_dewaele")) == "Which version is more formal?"
    assert goal_question(goal("textual_diversity", "mtld")) == \
        "Which version uses more diverse language?"
    assert goal_question(goal("text_length", "token_count")) == "Which version is longer?"
    assert goal_question(goal("sentences", "sentence_count")) is None
    assert question_prompt("Which version is longer?", "one", "two") == \
        "Which version is longer? Answer A, B or Tie.\n\nVersion A:\none\n\nVersion B:\ntwo"


# --- the command against a loopback judge ----------------------------------------------------

SPEC = """\
experiment v {{
  seed 3
  store "v.duckdb"
  {budget}
}}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{
  length = char_count normalize 0..300
  text_length = char_count normalize 0..300
  padded = char_count + 1 normalize 0..300
}}
model gpt {{
  litellm "openai/fake"  api_base "{url}"  concurrency 2  retries 0  price in 100 out 100
}}
model other {{ litellm "openai/other"  api_base "{url}" }}
"""
# Six texts 40 characters apart: every normalized difference is at least 0.13 (no goal tie).
TEXTS = [("Some words here. " * 20)[:n] for n in (20, 60, 100, 140, 180, 220)]


def write_spec(folder: Path, url: str, budget: str = "") -> Path:
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for t in TEXTS:
            f.write(json.dumps({"text": t}) + "\n")
    spec = folder / "v.steer"
    spec.write_text(SPEC.format(url=url, budget=budget), encoding="utf-8")
    return spec


def versions(prompt: str) -> tuple[str, str]:
    a, b = prompt.split("\n\nVersion A:\n", 1)[1].split("\n\nVersion B:\n", 1)
    return a, b


def by_length(reverse: bool = False):
    def reply(request) -> Reply:
        a, b = versions(request.prompt)
        longer_a = (len(a) > len(b)) != reverse
        return Reply.ok("A" if longer_a else "**B.**")
    return reply


def validate(capsys, *args) -> tuple[int, str, str]:
    code = main(["validate-goals", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def taus(db: Path) -> list[tuple]:
    return read_rows(db, "SELECT goal, pairs, answered, unparsed, missing, tau "
                         "FROM goal_validations ORDER BY run_at, goal")


def test_an_agreeing_judge_gives_tau_one_and_a_rerun_asks_nothing(tmp_path, capsys):
    with FakeOpenAI(default=by_length()) as server:
        spec = write_spec(tmp_path, server.url)
        code, out, err = validate(capsys, spec, "--judge", "gpt", "--pairs", "10")
        assert code == 0, err
        # Two goals ask the same question about the same pairs: asked once.
        assert server.count() == 10
        assert len(server.counts()) == 10
        assert all(p.startswith("Which version is longer? Answer A, B or Tie.")
                   for p in server.counts())
        assert "no question for goal 'padded'" in err
        lines = out.splitlines()
        assert lines[0] == "judge gpt, corpus c (6 distinct texts): 0 answers cached, 10 asked now"
        assert lines[1].split() == ["goal", "question", "tau", "pairs", "answered", "unparsed",
                                    "missing", "judge", "ties", "goal", "ties"]
        assert lines[2].split()[0] == "length" and "+1.000  10" in lines[2]

        code, out, _ = validate(capsys, spec, "--judge", "gpt", "--pairs", "10")
        assert code == 0
        assert server.count() == 10  # nothing asked twice
        assert out.splitlines()[0].endswith("10 answers cached, 0 asked now")
    db = tmp_path / "v.duckdb"
    assert taus(db) == [("length", 10, 10, 0, 0, 1.0), ("text_length", 10, 10, 0, 0, 1.0)] * 2
    cost = read_rows(db, "SELECT count(*), min(cost) > 0, max(judge) FROM validation_answers")
    assert cost == [(10, True, "gpt")]


def test_a_reversed_judge_gives_tau_minus_one(tmp_path, capsys):
    with FakeOpenAI(default=by_length(reverse=True)) as server:
        code, out, err = validate(capsys, write_spec(tmp_path, server.url), "--judge", "gpt",
                                  "--pairs", "15")
    assert code == 0, err
    assert taus(tmp_path / "v.duckdb") == [("length", 15, 15, 0, 0, -1.0),
                                           ("text_length", 15, 15, 0, 0, -1.0)]


def test_garbage_answers_are_unparsed_and_failures_asked_again(tmp_path, capsys):
    with FakeOpenAI(default=Reply.ok("Well, it depends on the reader.")) as server:
        spec = write_spec(tmp_path, server.url)
        server.script("Which version", Reply.error(400), Reply.error(400))
        code, out, err = validate(capsys, spec, "--judge", "gpt", "--pairs", "6")
        assert code == 1
        assert "error: results incomplete: 2 requests failed (a rerun asks them again); " \
               "4 answers were not A, B or Tie" in err
        assert "n/a" in out.splitlines()[2]
        assert server.count() == 6

        server.clear()
        server.default = by_length()
        code, out, err = validate(capsys, spec, "--judge", "gpt", "--pairs", "6")
        assert code == 1  # the unparsed answers stay unparsed: not asked again
        assert server.count() == 2
        assert "error: results incomplete: 4 answers were not A, B or Tie" in err
    assert taus(tmp_path / "v.duckdb")[-1] == ("text_length", 6, 2, 4, 0, 1.0)


def test_the_budget_stops_the_requests(tmp_path, capsys):
    with FakeOpenAI(default=by_length()) as server:
        spec = write_spec(tmp_path, server.url, budget="budget 0.005")
        code, _, err = validate(capsys, spec, "--judge", "gpt", "--pairs", "15")
        assert code == 1
        assert "requests not sent (budget $0.0050 reached)" in err
        assert 0 < server.count() < 15


def test_an_unknown_judge_is_a_usage_error(tmp_path, capsys):
    spec = write_spec(tmp_path, "http://127.0.0.1:9/v1")
    code, out, err = validate(capsys, spec, "--judge", "gtp")
    assert (code, out) == (2, "")
    assert "error: no model 'gtp' in " in err and err.rstrip().endswith("its models: gpt, other")
    code, _, err = validate(capsys, spec, "--judge", "gpt", "--pairs", "0")
    assert code == 2 and "--pairs must be at least 1" in err
    code, _, err = validate(capsys, tmp_path / "missing.steer", "--judge", "gpt")
    assert code == 2 and "no such spec" in err


@pytest.mark.local_model
def test_the_built_in_local_model_as_the_judge(tmp_path, capsys):
    spec = write_spec(tmp_path, "http://127.0.0.1:9/v1")
    spec.write_text(spec.read_text(encoding="utf-8")
                    + 'model tiny { local "smollm2"  temperature 0  max_tokens 8 }\n',
                    encoding="utf-8")
    code, out, err = validate(capsys, spec, "--judge", "tiny", "--pairs", "3")
    # A 135M model may not answer A, B or Tie: its answers are stored either way.
    assert code in (0, 1), err
    db = tmp_path / "v.duckdb"
    rows = read_rows(db, "SELECT status, raw <> '', cost FROM validation_answers")
    assert rows == [("ok", True, 0.0)] * 3
    assert [r[:2] for r in taus(db)] == [("length", 3), ("text_length", 3)]
    code, out, _ = validate(capsys, spec, "--judge", "tiny", "--pairs", "3")
    assert out.splitlines()[0].endswith("3 answers cached, 0 asked now")
