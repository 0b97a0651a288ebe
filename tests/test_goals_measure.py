"""measure_texts: values in input order, per-text errors, the store as cache (real DuckDB files),
custom goals (Python, expressions, judge hook), the process pool."""

from __future__ import annotations

import math

import numpy as np
import pytest

from steerdsl.errors import RunError
from steerdsl.goals.engine import PARALLEL_MIN_TEXTS
from steerdsl.goals.measure import MeasureError, measure_texts
from steerdsl.plan.hashing import builtin_measure_id
from steerdsl.plan.model import (
    BinOp,
    BuiltinMeasure,
    ExprMeasure,
    FixedNorm,
    GoalPlan,
    JudgeMeasure,
    Neg,
    Num,
    PythonMeasure,
    Ref,
)
from steerdsl.store.db import open_store

FOX = ("The quick brown fox jumps over the lazy dog. It was a sunny day in the park, and "
       "everyone seemed happy.")
FORMAL = "The committee approved the proposal after a lengthy review of the evidence."
CASUAL = "Hey! Wow, I really love this so much, you know?"
NORM = FixedNorm(lo=0.0, hi=1.0)


def builtin(name: str, measure: str, measure_id: str | None = None) -> GoalPlan:
    mid, versions = builtin_measure_id(measure)
    return GoalPlan(name=name, measure=BuiltinMeasure(name=measure), normalize=NORM,
                    measure_id=measure_id or mid, versions=versions)


PAPER = [builtin("reading_difficulty", "flesch_kincaid_grade"),
         builtin("formality", "heylighen_dewaele"),
         builtin("textual_diversity", "mtld"),
         builtin("text_length", "token_count")]


def expr_goal(name: str, expr, text: str) -> GoalPlan:
    return GoalPlan(name=name, measure=ExprMeasure(expr=expr, text=text), normalize=NORM,
                    measure_id=f"expr-{name}")


def count_rows(con, measure_id: str | None = None) -> int:
    if measure_id is None:
        return con.execute("SELECT count(*) FROM measurements").fetchone()[0]
    return con.execute("SELECT count(*) FROM measurements WHERE measure_id = ?",
                       [measure_id]).fetchone()[0]


def test_values_in_input_order_with_duplicates():
    m = measure_texts([FOX, FORMAL, FOX, ""], PAPER, ids=["a", "b", "c", "d"])
    assert m.errors == []
    assert m.raw["reading_difficulty"][0] == 3.6764285714285734
    np.testing.assert_allclose(m.raw["formality"], [76.19047619047619, 91.66666666666667,
                                                    76.19047619047619, 50.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.raw["textual_diversity"], [61.74, 20.16, 61.74, 0.0], atol=1e-9)
    assert m.raw["text_length"].tolist() == [24.0, 13.0, 24.0, 0.0]
    assert all(v.dtype == np.float64 for v in m.raw.values())
    # FOX occurs twice but is measured once: 3 distinct texts x 4 measures.
    assert m.computed == 12 and m.cached == 0


def test_bad_texts_never_kill_the_batch():
    bad_unicode = "broken \ud800 surrogate"
    texts = [FOX, bad_unicode, "", "one", "12 34", "🙂🙂🙂", "Ceci n'est pas une pipe."]
    m = measure_texts(texts, PAPER, ids=[f"t{i}" for i in range(len(texts))])
    assert [e for e in m.errors if e.index != 1] == []
    assert m.errors == [MeasureError(1, "t1", g.name,
                                     "not valid Unicode text (lone surrogate at character 7)")
                        for g in PAPER]
    for name, values in m.raw.items():
        assert math.isnan(values[1])
        assert np.isfinite(np.delete(values, 1)).all(), name
    # "n'est" is one spaCy token: Ceci, n'est, pas, une, pipe, "."
    assert m.raw["text_length"].tolist()[2:] == [0.0, 1.0, 2.0, 3.0, 6.0]


def test_a_long_text():
    m = measure_texts([" ".join([FOX] * 250)], PAPER)  # 5250 words
    assert m.errors == []
    assert m.raw["text_length"][0] == 24 * 250
    # the same words / sentences and syllables / words ratios as FOX, so the same grade
    assert m.raw["reading_difficulty"][0] == pytest.approx(3.6764285714285734, abs=1e-9)
    assert m.raw["formality"][0] == pytest.approx(76.19047619047619, abs=1e-9)


def test_shared_measures_are_computed_once(tmp_path):
    con = open_store(tmp_path / "cache.duckdb")
    ratio = expr_goal("sentence_length", BinOp(op="/", left=Ref(measure="token_count"),
                                               right=Ref(measure="sentence_count")),
                      "(token_count / sentence_count)")
    m = measure_texts([FOX, CASUAL], [PAPER[3], ratio], con=con)
    # token_count serves the goal and the expression: 3 measures x 2 texts
    assert m.computed == 6 and count_rows(con) == 6
    assert m.raw["text_length"].tolist() == [24.0, 14.0]
    assert m.raw["sentence_length"].tolist() == [12.0, 7.0]


def test_ids_must_match_texts():
    with pytest.raises(ValueError):
        measure_texts(["a", "b"], PAPER, ids=["only one"])


def test_progress_reaches_the_total():
    calls = []
    measure_texts([FOX, FORMAL, CASUAL], PAPER[3:], progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (3, 3)
    assert all(t == 3 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# --- the cache ----------------------------------------------------------------------------

def test_second_measure_reads_everything_from_the_store(tmp_path):
    path = tmp_path / "cache.duckdb"
    texts = [FOX, FORMAL, CASUAL, FOX]
    con = open_store(path)
    first = measure_texts(texts, PAPER, con=con)
    assert (first.computed, first.cached) == (12, 0)
    assert count_rows(con) == 12
    assert con.execute("SELECT count(*) FROM texts").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM measures").fetchone()[0] == 4
    con.close()

    con = open_store(path)  # a new process would see the same file
    second = measure_texts(texts, PAPER, con=con)
    assert (second.computed, second.cached) == (0, 12)
    for g in PAPER:
        assert np.array_equal(first.raw[g.name], second.raw[g.name])
    # Renaming a goal measures nothing again: identity is the measure, not the name.
    renamed = [builtin("difficulty", "flesch_kincaid_grade")]
    third = measure_texts(texts, renamed, con=con)
    assert (third.computed, third.cached) == (0, 3)
    assert np.array_equal(third.raw["difficulty"], first.raw["reading_difficulty"])
    con.close()


def test_a_new_measure_id_remeasures_exactly_that_goal(tmp_path):
    con = open_store(tmp_path / "cache.duckdb")
    texts = [FOX, FORMAL, CASUAL]
    measure_texts(texts, PAPER, con=con)
    bumped = [*PAPER[:2], builtin("textual_diversity", "mtld", measure_id="mtld-v2"), PAPER[3]]
    m = measure_texts(texts, bumped, con=con)
    assert (m.computed, m.cached) == (3, 9)
    assert count_rows(con, "mtld-v2") == 3
    assert count_rows(con) == 15
    # Only new texts are measured: one new text costs 4 values, the rest comes from the store.
    m = measure_texts([*texts, "A brand new text."], bumped, con=con)
    assert (m.computed, m.cached) == (4, 12)


def test_cache_holds_raw_values_and_deterministic_errors(tmp_path):
    con = open_store(tmp_path / "cache.duckdb")
    ratio = expr_goal("sentence_length", BinOp(op="/", left=Ref(measure="token_count"),
                                               right=Ref(measure="sentence_count")),
                      "(token_count / sentence_count)")
    measure_texts([FOX, ""], [ratio], con=con)
    rows = con.execute("SELECT t.text, m.measure_id, m.raw, m.error FROM measurements m "
                       "JOIN texts t USING (text_hash) ORDER BY t.text, m.measure_id").fetchall()
    tc, sc = builtin_measure_id("token_count")[0], builtin_measure_id("sentence_count")[0]
    expected = {
        ("", "expr-sentence_length", None, "division by zero in (token_count / sentence_count)"),
        ("", tc, 0.0, None), ("", sc, 0.0, None),
        (FOX, "expr-sentence_length", 12.0, None), (FOX, tc, 24.0, None), (FOX, sc, 2.0, None),
    }
    assert set(rows) == expected
    definition = con.execute("SELECT definition->>'kind' FROM measures WHERE measure_id = ?",
                             ["expr-sentence_length"]).fetchone()[0]
    assert definition == "expr"
    # A second run computes nothing: 2 expression rows and 4 rows of its inputs are read.
    again = measure_texts([FOX, ""], [ratio], con=con)
    assert (again.computed, again.cached) == (0, 6)
    assert again.errors == [MeasureError(1, "1", "sentence_length",
                                         "division by zero in (token_count / sentence_count)")]


# --- custom goals -------------------------------------------------------------------------

def test_expression_goals():
    ratio = expr_goal("sentence_length", BinOp(op="/", left=Ref(measure="token_count"),
                                               right=Ref(measure="sentence_count")),
                      "(token_count / sentence_count)")
    mixed = expr_goal("mixed", BinOp(op="-", left=BinOp(op="*", left=Num(value=2.0),
                                                        right=Ref(measure="word_count")),
                                     right=Num(value=1.5)), "((2 * word_count) - 1.5)")
    m = measure_texts([FOX, CASUAL, ""], [ratio, mixed], ids=["fox", "casual", "empty"])
    assert m.raw["sentence_length"][:2].tolist() == [12.0, 7.0]
    assert math.isnan(m.raw["sentence_length"][2])
    assert m.raw["mixed"].tolist() == [40.5, 18.5, -1.5]
    assert m.errors == [MeasureError(2, "empty", "sentence_length",
                                     "division by zero in (token_count / sentence_count)")]


def test_expression_nodes():
    from steerdsl.goals.custom import eval_expr, expr_refs

    expr = BinOp(op="+", left=Neg(arg=Ref(measure="word_count")),
                 right=BinOp(op="/", left=Num(value=1.0), right=Ref(measure="char_count")))
    assert expr_refs(expr) == ["word_count", "char_count"]
    values, div0 = eval_expr(expr, {"word_count": np.array([2.0, 3.0]),
                                    "char_count": np.array([4.0, 0.0])}, 2)
    assert values[0] == -1.75 and math.isnan(values[1])
    assert div0.tolist() == [False, True]
    # constants only: one value per text, and a constant zero divisor fails everywhere
    values, div0 = eval_expr(BinOp(op="/", left=Num(value=3.0), right=Num(value=0.0)), {}, 3)
    assert np.isnan(values).all() and div0.tolist() == [True, True, True]
    m = measure_texts([FOX, CASUAL], [expr_goal("neg", Neg(arg=Ref(measure="word_count")),
                                                "(-word_count)")])
    assert m.raw["neg"].tolist() == [-21.0, -10.0]


def test_python_goals(tmp_path):
    (tmp_path / "my_measures.py").write_text(
        "def exclamations(text):\n"
        "    if 'boom' in text:\n"
        "        raise ValueError('boom found')\n"
        "    return text.count('!')\n"
        "def not_a_number(text):\n"
        "    return 'many'\n",
        encoding="utf-8")
    good = GoalPlan(name="excl", measure=PythonMeasure(ref="my_measures:exclamations"),
                    normalize=NORM, measure_id="py-excl")
    m = measure_texts([CASUAL, "boom!", FOX], [good], ids=["c", "b", "f"], base_dir=tmp_path)
    assert m.raw["excl"][[0, 2]].tolist() == [1.0, 0.0]
    assert m.errors == [MeasureError(1, "b", "excl",
                                     "my_measures:exclamations raised ValueError: boom found")]
    bad = GoalPlan(name="nan", measure=PythonMeasure(ref="my_measures:not_a_number"),
                   normalize=NORM, measure_id="py-nan")
    m = measure_texts([FOX], [bad], base_dir=tmp_path)
    assert m.errors == [MeasureError(0, "0", "nan", "my_measures:not_a_number returned str, "
                                                    "not a number")]


def test_python_goal_failures_are_stored_and_retried_only_when_asked(tmp_path):
    (tmp_path / "flaky.py").write_text(
        "import pathlib\n"
        "HERE = pathlib.Path(__file__).parent\n"
        "def score(text):\n"
        "    with open(HERE / 'calls.log', 'a') as f:\n"
        "        f.write(text + '\\n')\n"
        "    if (HERE / 'fail.flag').exists() and '!' in text:\n"
        "        raise ValueError('flaky')\n"
        "    return len(text)\n", encoding="utf-8")
    (tmp_path / "fail.flag").touch()
    log = tmp_path / "calls.log"
    goal = GoalPlan(name="flaky", measure=PythonMeasure(ref="flaky:score"), normalize=NORM,
                    measure_id="py-flaky")
    # Built-in failures are final (deterministic); retry_errors leaves them alone.
    length = builtin("text_length", "token_count")
    con = open_store(tmp_path / "cache.duckdb")
    texts = [FOX, CASUAL, "bad \udfff text"]
    m = measure_texts(texts, [goal, length], con=con, base_dir=tmp_path)
    assert m.errors[0] == MeasureError(1, "1", "flaky", "flaky:score raised ValueError: flaky")
    assert m.retryable == 1
    assert con.execute("SELECT raw, error FROM measurements WHERE measure_id = 'py-flaky' "
                       "ORDER BY raw").fetchall() == [
        (float(len(FOX)), None), (None, "flaky:score raised ValueError: flaky")]
    assert log.read_text().splitlines() == [FOX, CASUAL]

    m = measure_texts(texts, [goal, length], con=con, base_dir=tmp_path)
    assert log.read_text().splitlines() == [FOX, CASUAL]  # nothing measured again
    assert [e.goal for e in m.errors[:1]] == ["flaky"] and math.isnan(m.raw["flaky"][1])

    (tmp_path / "fail.flag").unlink()
    m = measure_texts(texts, [goal, length], con=con, base_dir=tmp_path, retry_errors=True)
    assert log.read_text().splitlines() == [FOX, CASUAL, CASUAL]
    assert m.raw["flaky"][:2].tolist() == [float(len(FOX)), float(len(CASUAL))]
    assert [(e.index, e.goal) for e in m.errors] == [(2, "flaky"), (2, "text_length")]
    assert m.retryable == 0 and m.computed == 1
    assert con.execute("SELECT count(*), count(error) FROM measurements "
                       "WHERE measure_id = 'py-flaky'").fetchone() == (2, 0)


def test_python_goal_that_cannot_be_imported_names_the_goal(tmp_path):
    goal = GoalPlan(name="polarity", measure=PythonMeasure(ref="no_such_module_xyz:f"),
                    normalize=NORM, measure_id="py-missing")
    with pytest.raises(RunError, match="goal 'polarity': cannot import module "
                                       "'no_such_module_xyz'"):
        measure_texts([FOX], [goal], base_dir=tmp_path)
    (tmp_path / "empty_mod.py").write_text("x = 1\n", encoding="utf-8")
    goal = GoalPlan(name="polarity", measure=PythonMeasure(ref="empty_mod:score"),
                    normalize=NORM, measure_id="py-nofunc")
    with pytest.raises(RunError, match="goal 'polarity': module 'empty_mod' has no function "
                                       "'score'"):
        measure_texts([FOX], [goal], base_dir=tmp_path)


def judge_goal() -> GoalPlan:
    return GoalPlan(name="politeness", normalize=NORM, measure_id="judge-1",
                    measure=JudgeMeasure(model="gpt", rubric="How polite, 0 to 10?",
                                         scale_lo=0.0, scale_hi=10.0))


def test_judge_goals_need_the_hook():
    with pytest.raises(RunError, match="goal 'politeness' is judged by model 'gpt', and no judge"):
        measure_texts([FOX], [judge_goal()])


def test_judge_hook_values_and_failures(tmp_path):
    seen = []

    def judge(goal, texts):
        seen.append((goal.name, list(texts)))
        return [7.0, TimeoutError("no answer"), 12.0][: len(texts)]

    con = open_store(tmp_path / "cache.duckdb")
    m = measure_texts([FOX, FORMAL, CASUAL], [judge_goal()], con=con, judge=judge)
    assert seen == [("politeness", [FOX, FORMAL, CASUAL])]
    assert m.raw["politeness"][0] == 7.0
    assert m.errors == [
        MeasureError(1, "1", "politeness", "judge failed: TimeoutError: no answer"),
        MeasureError(2, "2", "politeness", "judge score 12.0 outside the scale 0.0..10.0"),
    ]
    assert m.retryable == 2
    # Failures are stored with their message ...
    stored = con.execute("SELECT t.text, m.raw, m.error FROM measurements m JOIN texts t "
                         "USING (text_hash) WHERE measure_id = 'judge-1' ORDER BY raw, error")
    assert stored.fetchall() == [
        (FOX, 7.0, None), (FORMAL, None, "judge failed: TimeoutError: no answer"),
        (CASUAL, None, "judge score 12.0 outside the scale 0.0..10.0")]
    # ... read back as they are ...
    seen.clear()
    m = measure_texts([FOX, FORMAL], [judge_goal()], con=con, judge=judge)
    assert seen == []
    assert (m.cached, m.retryable) == (2, 1)
    assert m.errors == [MeasureError(1, "1", "politeness", "judge failed: TimeoutError: no answer")]
    # ... and measured again only when asked: a judge's failure may be transient.
    m = measure_texts([FOX, FORMAL], [judge_goal()], con=con, judge=judge, retry_errors=True)
    assert seen == [("politeness", [FORMAL])]
    assert m.raw["politeness"].tolist() == [7.0, 7.0] and m.errors == []
    assert con.execute("SELECT raw, error FROM measurements m JOIN texts t USING (text_hash) "
                       "WHERE t.text = ? AND measure_id = 'judge-1'", [FORMAL]).fetchall() == [
        (7.0, None)]


def test_unknown_builtin_is_a_run_error():
    with pytest.raises(RunError, match="'nonsense' is not a built-in measure"):
        measure_texts([FOX], [builtin("x", "flesch_kincaid_grade").model_copy(
            update={"measure": BuiltinMeasure(name="nonsense")})])


# --- the pool -----------------------------------------------------------------------------

def test_pool_gives_the_same_values_in_order(tmp_path):
    words = FOX.split() + FORMAL.split() + CASUAL.split()
    # Varied short texts, enough to use the pool; each distinct.
    texts = [" ".join(words[i % 20:i % 20 + 3 + i % 11]) + f" {i}."
             for i in range(PARALLEL_MIN_TEXTS)]
    texts[17] = "bad \udfff text"
    con = open_store(tmp_path / "cache.duckdb")
    pooled = measure_texts(texts, PAPER, con=con, workers=2)
    single = measure_texts(texts, PAPER, workers=1)
    for g in PAPER:
        np.testing.assert_array_equal(pooled.raw[g.name], single.raw[g.name])
    assert pooled.errors == single.errors and {e.index for e in pooled.errors} == {17}
    assert count_rows(con) == 4 * (PARALLEL_MIN_TEXTS - 1)
