"""Mutated specs: only SpecError ever escapes, always with a place, and nothing hangs."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import steerdsl
from steerdsl.lang.diagnostics import SpecError

VALID = '''\
experiment fuzz {
  seed 42
  store "runs/fuzz.duckdb"
}
corpus seeds {
  read "c.jsonl" text "text" label "label"
  keep words 1..500
  dedupe
}
goals {
  length = char_count                      normalize 10..2000
  ratio  = (char_count + 1) / (word_count - -2) * 3  normalize quantile 2.5%..97.5% of seeds
  judged = judge gpt rubric "How polite, 0 to 10?" scale 0..10
}
probe p from seeds {
  sources 2 weighted uniform
  requests 3 per source
  active 1..2
  delta -0.7..0.7 deadzone 0.1
  goals length, ratio
}
probe q from csv "probe.csv"
model gpt {
  litellm "openai/x"
  api_base "http://127.0.0.1:9/v1"
  api_key env KEY
  temperature 0.5  max_tokens 64  concurrency 2
}
prompt terse extends direct {
  template """
    Make it {requests}.{suffix}

    {text}
  """
  phrase ratio up "denser" down "sparser"
  phrase judged up "politer" down "ruder"
  modifiers much above 0.5, slightly below 0.2
}
intervention plain { prompt terse negative }
intervention best { prompt terse sample 3 temperature 1.0 min_p 0.1 select nearest }
evaluate {
  probe p
  models gpt
  interventions plain, best
}
'''

_DIR = Path(tempfile.mkdtemp(prefix="steer-fuzz-"))
(_DIR / "c.jsonl").write_text('{"text": "one two three", "label": "a"}\n', encoding="utf-8")
(_DIR / "probe.csv").write_text("text,source_length\nhello,0.5\n", encoding="utf-8")
_TOKENS = re.findall(r'"""[\s\S]*?"""|"[^"\n]*"|\S+|\n', VALID)

JUNK = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["{", "}", "..", "%", "-", "(", ")", '"', '"""', "#", ",", "=", "\t",
                     "中文", "é", "\x00", "\u200b", "9" * 400, "1e999", "x" * 5000,
                     "(" * 300 + "char_count" + ")" * 300, "- " * 300 + "1",
                     "+".join(["char_count"] * 500)]),
)


@st.composite
def mutated(draw) -> bytes:
    tokens = list(_TOKENS)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "lines",
                                   "replace"]))
        i = draw(st.integers(0, len(tokens) - 1))
        j = draw(st.integers(0, len(tokens) - 1))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "insert":
            tokens.insert(i, draw(JUNK))
        elif op == "replace":
            tokens[i] = draw(JUNK)
        else:
            text = _join(tokens)
            lines = text.split("\n")
            a = draw(st.integers(0, len(lines) - 1))
            b = draw(st.integers(0, len(lines) - 1))
            choice = draw(st.sampled_from(["drop", "dup", "swap"]))
            if choice == "drop":
                del lines[a]
            elif choice == "dup":
                lines.insert(a, lines[b])
            else:
                lines[a], lines[b] = lines[b], lines[a]
            tokens = re.findall(r'"""[\s\S]*?"""|"[^"\n]*"|\S+|\n', "\n".join(lines))
            if not tokens:
                tokens = ["\n"]
    data = _join(tokens).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        k = draw(st.integers(0, len(data)))
        data = data[:k] + draw(st.binary(min_size=1, max_size=4)) + data[k:]
    return data


def _join(tokens: list[str]) -> str:
    return " ".join(tokens).replace(" \n ", "\n")


def test_the_unmutated_spec_compiles():
    path = _DIR / "valid.steer"
    path.write_text(VALID, encoding="utf-8")
    plan = steerdsl.load(path).plan()
    assert [g.name for g in plan.goals] == ["length", "ratio", "judged"]


@settings(max_examples=200, deadline=3000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_specs_fail_only_with_placed_spec_errors(data: bytes):
    path = _DIR / "mutant.steer"
    path.write_bytes(data)
    try:
        steerdsl.load(path).plan()
    except SpecError as e:
        assert e.errors, "a SpecError carries at least one error"
        for d in e.diagnostics:
            assert d.span.line >= 1 and d.span.col >= 1
            assert d.span.file == str(path)
        rendered = e.render()
        assert rendered.startswith(f"{path}:")
