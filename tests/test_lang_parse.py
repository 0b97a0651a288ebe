"""Parsing: values, spans, strings, per-block syntax errors, carets, secrets."""

from __future__ import annotations

import pytest

from steerdsl.lang import syntax
from steerdsl.lang.diagnostics import Diagnostic, SourceText, Span, SpecError, caret_line
from steerdsl.lang.grammar import grammar_path, parser
from steerdsl.lang.parser import parse_text


def parse(text: str):
    spec, diags, secrets = parse_text(text, "t.steer")
    return spec, diags, secrets


def test_grammar_is_found_and_lalr():
    assert grammar_path().name == "steer.lark"
    assert parser().options.parser == "lalr"
    assert parser().options.propagate_positions


def test_values_numbers_percentages_ranges_and_spans():
    spec, diags, _ = parse(
        "goals {\n  a = char_count normalize quantile 2.5%..97.5% of c\n"
        "  b = char_count normalize -1..1e2\n}\n")
    assert diags == []
    (goals,) = spec.blocks
    a, b = goals.goals
    assert a.name == syntax.Name("a", Span("t.steer", 2, 3, 2, 4))
    q = a.normalize
    assert isinstance(q, syntax.QuantileNorm)
    assert (q.range.lo.value, q.range.lo.percent, q.range.lo.text) == (2.5, True, "2.5%")
    assert (q.range.hi.value, q.range.hi.span) == (97.5, Span("t.steer", 2, 43, 2, 48))
    assert q.corpus.value == "c"
    f = b.normalize
    assert (f.range.lo.value, f.range.lo.text, f.range.hi.value) == (-1.0, "-1", 100.0)
    assert f.range.lo.is_int and not f.range.hi.is_int  # 1e2 is written as a float


def test_expressions_keep_precedence_and_associativity():
    spec, diags, _ = parse("goals { g = 1 - a / b * -c + (d - e) normalize 0..1 }")
    assert diags == []
    e = spec.blocks[0].goals[0].measure.expr
    # ((1 - ((a / b) * (-c))) + (d - e))
    assert e.op == "+" and e.right.op == "-"
    assert e.left.op == "-" and e.left.left.value == 1.0
    mul = e.left.right
    assert mul.op == "*" and mul.left.op == "/" and isinstance(mul.right, syntax.NegExpr)


def test_layout_does_not_matter():
    one_line = 'model m { litellm "x" temperature 0 max_tokens 5 }'
    many = 'model m {\n  litellm "x"\n\n  # comment\n  temperature 0\n  max_tokens 5\n}'
    a, _, _ = parse(one_line)
    b, _, _ = parse(many)
    key = [(s.key, s.value.value) for s in a.blocks[0].settings]
    assert key == [(s.key, s.value.value) for s in b.blocks[0].settings]
    assert key == [("litellm", "x"), ("temperature", 0.0), ("max_tokens", 5.0)]


def test_strings_escapes_and_dedented_triple_quotes():
    text = ('prompt t extends direct {\n  template """\n    Rewrite it: {requests}.\n\n'
            '      {text}\n  """\n  phrase g up "say \\"hi\\"\\n" down "a\\\\b"\n}\n')
    spec, diags, _ = parse(text)
    assert diags == []
    template, phrase = spec.blocks[0].items
    assert template.text.value == "Rewrite it: {requests}.\n\n  {text}"
    assert phrase.up.value == 'say "hi"\n' and phrase.down.value == "a\\b"


def test_keywords_are_reserved_only_where_they_appear():
    spec, diags, _ = parse("goals { delta = char_count normalize 0..1  rpm = char_count "
                           "normalize 0..1 }")
    assert diags == []
    assert [g.name.value for g in spec.blocks[0].goals] == ["delta", "rpm"]


def test_one_syntax_error_per_broken_block_and_the_rest_still_parse():
    text = ("experiment e { seed 1 }\n"
            "model a { litellm \"x\" temprature 0 }\n"
            "model b { litellm \"y\" }\n"
            "intervention i { prompt direct select bestest }\n"
            "evaluate { probe p models a, b interventions i }\n")
    spec, diags, _ = parse(text)
    assert [d.text for d in diags] == [
        "unknown setting 'temprature' in model block (settings here: api_base, api_key, "
        "batch, concurrency, deployment, hf, litellm, local, max_tokens, min_p, price, retries, "
        "route, rpm, temperature, timeout, top_p, tpm, truncated); did you mean 'temperature'?",
        "unexpected 'bestest'; expected one of 'first', 'nearest'",
    ]
    assert [d.span.line for d in diags] == [2, 4]
    assert diags[0].span == Span("t.steer", 2, 23, 2, 33)
    assert [type(b).__name__ for b in spec.blocks] == ["Experiment", "Model", "Evaluate"]
    assert [(f.kind, f.name) for f in spec.failed] == [("model", "a"), ("intervention", "i")]


def test_unclosed_block_is_reported_at_its_brace_and_the_next_block_survives():
    text = "corpus c {\n  read \"x.jsonl\"\n\nmodel m {\n  litellm \"x\"\n}\n"
    spec, diags, _ = parse(text)
    assert [(d.text, d.span.line, d.span.col) for d in diags] == [
        ("'{' of this corpus block is never closed: missing '}'", 1, 10)]
    assert [type(b).__name__ for b in spec.blocks] == ["Model"]


def test_unknown_block_gets_a_suggestion():
    _, diags, _ = parse('modle m { litellm "x" }')
    assert diags[0].suggestion == "model"
    assert diags[0].message.startswith("unknown block 'modle'")


def test_unterminated_string_and_bad_characters():
    _, diags, _ = parse('experiment e { store "runs/x.duckdb }\ngoals { a = @ }')
    assert [(d.message, d.span.line, d.span.col) for d in diags] == [
        ("unterminated string", 1, 22),
        ("unexpected character '@'; expected one of '(', '-', a name, a number", 2, 13),
    ]


def test_deep_nesting_is_an_error_not_a_crash():
    parens = "(" * 500 + "char_count" + ")" * 500  # parentheses add no tree levels
    spec, diags, _ = parse(f"goals {{ a = {parens} normalize 0..1 }}")
    assert diags == [] and spec.blocks[0].goals[0].measure.expr.name.value == "char_count"
    _, diags, _ = parse("goals { a = " + "- " * 300 + "1 normalize 0..1 }")
    assert [d.message for d in diags] == ["expression nested too deeply (more than 64 levels)"]
    _, diags, _ = parse("goals { a = " + " + ".join(["char_count"] * 2000) + " normalize 0..1 }")
    assert [d.message for d in diags] == ["expression nested too deeply (more than 64 levels)"]


def test_literal_api_keys_are_masked_in_every_message():
    text = 'model m {\n  litellm "x" api_key "sk-SECRET" tempxx 1\n}\n'
    spec, diags, secrets = parse(text)
    err = SpecError(diags, SourceText("t.steer", text, secrets))
    assert "SECRET" not in err.render()
    assert '  litellm "x" api_key *********** tempxx 1' in err.render()
    text = 'model m {\n  litellm "x" api_key "sk-SECRET"\n}\n'
    spec, diags, secrets = parse(text)
    assert diags == [] and secrets == [Span("t.steer", 2, 23, 2, 34)]
    assert isinstance(spec.blocks[0].api_keys[0], syntax.ApiKeyLiteral)
    assert "SECRET" not in repr(spec)


def test_carets_under_tabs_and_wide_characters():
    line = "\tgoals\t{ 中文 = x }"
    span = Span("f", 1, 10, 1, 12)  # the two wide characters
    assert caret_line(line, span) == "\t     \t  ^^^^"
    d = Diagnostic("error", "bad", span, "ok")
    rendered = d.render(SourceText("f", line))
    assert rendered == "f:1:10: error: bad; did you mean 'ok'?\n  " + line + "\n  " \
        + "\t     \t  ^^^^"


@pytest.mark.parametrize("text", ["", "   \n# only a comment\n"])
def test_empty_spec_parses_to_nothing(text):
    spec, diags, _ = parse(text)
    assert spec.blocks == [] and diags == []


def test_a_broken_goal_costs_only_itself():
    text = ("goals {\n  a = char_count normalize 0..1\n  b = char_count +* 2 normalize 0..1\n"
            "  c = char_count normalize 0..1 of\n  d = word_count +\n"
            "  e = word_count normalize 0..2\n}\n")
    spec, diags, _ = parse(text)
    assert [(d.span.line, d.span.col, d.message) for d in diags] == [
        (3, 19, "unexpected '*'; expected one of '(', '-', a name, a number"),
        (4, 33, "goal 'c' is incomplete after this"),
        (5, 18, "goal 'd' is incomplete after this; expected one of '(', '-', a name, "
                "a number"),
    ]
    (goals,) = spec.blocks
    assert [g.name.value for g in goals.goals] == ["a", "e"]
    assert [(f.kind, f.name) for f in spec.failed] == [("goal", "b"), ("goal", "c"),
                                                        ("goal", "d")]


def test_common_mistakes_get_friendly_messages():
    _, diags, _ = parse("probe p from c { sources 2 requests 3 active 1 }\n"
                        'model m { litellm "x" api_key OPENAI }\n'
                        "probe q from c { sources 3 weighted active 1 }\n")
    assert [d.message for d in diags] == [
        "unexpected 'active': write 'requests N per source'",
        "unexpected 'OPENAI': API keys come from the environment: write api_key env VARIABLE",
        "unexpected 'active': sampling weights are 'weighted uniform' or 'unweighted'",
    ]
