"""Stage hashes: layout, comments, block order and pacing change nothing; a changed number
changes exactly the stages downstream of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import steerdsl

SPEC = '''\
experiment e {
  seed 42
  store "runs/e.duckdb"
}

corpus c {
  read "c.jsonl" text "text"
  keep words 1..100
}

goals {
  length = char_count      normalize 10..2000
  words  = word_count      normalize quantile 2.5%..97.5% of c
}

probe p from c {
  sources 2 weighted uniform
  requests 3 per source
  active 1..2
  delta -0.7..0.7 deadzone 0.1
}

model a {
  litellm "openai/a"
  api_base "http://127.0.0.1:9/v1"
  temperature 0
  concurrency 4
}

model b {
  litellm "openai/b"
  api_key env B_KEY
}

intervention plain { prompt direct }
intervention neg   { prompt direct negative }

evaluate {
  probe p
  models a, b
  interventions plain, neg
}
'''

ALL = {"corpus:c", "measure:c", "space", "probe:p", "generate:a/plain", "score:a/plain",
       "generate:a/neg", "score:a/neg", "generate:b/plain", "score:b/plain",
       "generate:b/neg", "score:b/neg"}
GEN = {s for s in ALL if s.startswith(("generate:", "score:"))}


def hashes(tmp_path: Path, text: str, name: str = "s.steer") -> dict[str, str]:
    corpus = tmp_path / "c.jsonl"
    if not corpus.exists():
        corpus.write_text('{"text": "one two three"}\n{"text": "four five six seven"}\n',
                          encoding="utf-8")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    plan = steerdsl.load(path).plan()
    return {**{s.id: s.hash for s in plan.stages}, "spec": plan.spec_hash}


def changed(tmp_path: Path, old: str, new: str) -> set[str]:
    assert old in SPEC
    a = hashes(tmp_path, SPEC)
    b = hashes(tmp_path, SPEC.replace(old, new), "t.steer")
    assert a.keys() == b.keys()
    return {k for k in a if a[k] != b[k]} - {"spec"}


def test_all_stages_are_there(tmp_path):
    assert set(hashes(tmp_path, SPEC)) == ALL | {"spec"}


def test_layout_comments_and_block_order_change_no_hash(tmp_path):
    base = hashes(tmp_path, SPEC)
    squeezed = " ".join(SPEC.split())  # one line
    commented = "# a comment\n" + SPEC.replace("\n", "   # note\n").replace("  ", "\t")
    blocks = SPEC.strip().split("\n\n")
    reordered = "\n\n".join(reversed(blocks)) + "\n"
    for variant in (squeezed, commented, reordered):
        assert hashes(tmp_path, variant, "v.steer") == base


def test_moving_the_project_changes_no_hash(tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    base = hashes(one, SPEC)
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    assert hashes(tmp_path / "two", SPEC) == base


def test_pacing_and_key_names_change_no_hash(tmp_path):
    assert changed(tmp_path, "concurrency 4", "concurrency 64") == set()
    assert changed(tmp_path, "env B_KEY", "env OTHER_KEY") == set()
    assert changed(tmp_path, "  api_key env B_KEY\n", "  api_key env B_KEY\n  rpm 10\n"
                   "  timeout 5 retries 1\n") == set()


def test_the_executor_changes_no_hash(tmp_path):
    # where measures are computed changes no value: a spec run on a cluster resumes the store
    # of the same spec run here, and the other way round
    base = hashes(tmp_path, SPEC)
    for address in ("auto", "10.0.0.5:6379", "ray://head:10001"):
        with_ray = SPEC.replace("  seed 42\n", f'  seed 42\n  executor ray "{address}"\n')
        assert hashes(tmp_path, with_ray, "r.steer") == base


def test_a_changed_number_changes_exactly_the_downstream_hashes(tmp_path):
    assert changed(tmp_path, "requests 3 per source", "requests 4 per source") == \
        {"probe:p"} | GEN
    assert changed(tmp_path, "normalize 10..2000", "normalize 10..3000") == \
        {"space", "probe:p"} | GEN
    assert changed(tmp_path, "keep words 1..100", "keep words 2..100") == ALL
    assert changed(tmp_path, "seed 42", "seed 43") == {"probe:p"} | GEN
    assert changed(tmp_path, "temperature 0", "temperature 0.5") == \
        {"generate:a/plain", "score:a/plain", "generate:a/neg", "score:a/neg"}
    assert changed(tmp_path, "intervention neg   { prompt direct negative }",
                   "intervention neg   { prompt direct negative sample 2 }") == \
        {"generate:a/neg", "score:a/neg", "generate:b/neg", "score:b/neg"}


def test_truncated_drop_rescores_without_regenerating(tmp_path):
    # Dropping truncated answers decides how answers count, not what is asked: only the
    # score stages it applies to change; the default changes no hash at all.
    assert changed(tmp_path, "  concurrency 4\n", "  concurrency 4\n  truncated drop\n") == \
        {"score:a/plain", "score:a/neg"}
    assert changed(tmp_path, "  concurrency 4\n", "  concurrency 4\n  truncated score\n") \
        == set()
    assert changed(tmp_path, "{ prompt direct negative }",
                   "{ prompt direct negative truncated drop }") == {"score:a/neg", "score:b/neg"}
    # the intervention's setting wins over the model's
    both = SPEC.replace("  concurrency 4\n", "  concurrency 4\n  truncated drop\n").replace(
        "{ prompt direct negative }", "{ prompt direct negative truncated score }")
    plan = steerdsl.load(_write(tmp_path, both)).plan()
    assert plan.model("a").truncated == "drop" and plan.model("b").truncated == "score"
    assert plan.intervention("neg").truncated == "score"
    assert plan.intervention("plain").truncated is None
    b = hashes(tmp_path, both, "u.steer")
    a = hashes(tmp_path, SPEC)
    assert {k for k in a if a[k] != b[k]} - {"spec"} == {"score:a/plain"}


def _write(tmp_path: Path, text: str) -> Path:
    hashes(tmp_path, text, "w.steer")
    return tmp_path / "w.steer"


def test_renaming_an_intervention_regenerates_only_it(tmp_path):
    # Its name seeds the intent order of its prompts and labels its rows in the store, so
    # answers stored under the old name must not be reused under the new one.
    a = hashes(tmp_path, SPEC)
    renamed = SPEC.replace("intervention neg   {", "intervention neg2  {").replace(
        "interventions plain, neg", "interventions plain, neg2")
    b = hashes(tmp_path, renamed, "t.steer")
    same = {k for k in a if k in b and a[k] == b[k]}
    assert same == ALL - {s for s in GEN if s.endswith("/neg")}
    for model in ("a", "b"):
        assert b[f"generate:{model}/neg2"] != a[f"generate:{model}/neg"]


def test_changed_corpus_content_reaches_everything_downstream(tmp_path):
    base = hashes(tmp_path, SPEC)
    (tmp_path / "c.jsonl").write_text('{"text": "other"}\n', encoding="utf-8")
    after = hashes(tmp_path, SPEC)
    assert {k for k in base if base[k] != after[k]} == ALL | {"spec"}


def test_goal_order_matters_to_probes_only(tmp_path):
    swapped = SPEC.replace(
        "  length = char_count      normalize 10..2000\n  words  = word_count      normalize "
        "quantile 2.5%..97.5% of c\n",
        "  words  = word_count      normalize quantile 2.5%..97.5% of c\n  length = char_count"
        "      normalize 10..2000\n")
    assert swapped != SPEC
    a, b = hashes(tmp_path, SPEC), hashes(tmp_path, swapped, "t.steer")
    assert {k for k in a if a[k] != b[k]} - {"spec"} == {"probe:p"} | GEN
