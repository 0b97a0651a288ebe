"""A real store scored by the real pipeline, for the reward and training-set tests: a spec with
the paper's four goals and a Python goal that fails on some answers, run through `steerdsl run`
against a local OpenAI-compatible server whose answers cover the edge cases (the source itself,
empty, tiny, very long, chatty, reasoning blocks, unmeasurable)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from support.fake_openai import FakeOpenAI, Reply, Request

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "corpus.jsonl"

SPEC = """
experiment exp {{ seed 5  store "out/exp.duckdb" }}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{
  reading_difficulty = flesch_kincaid_grade  normalize 2.8..12.9
  formality          = heylighen_dewaele     normalize 40.37..69.121634
  textual_diversity  = mtld                  normalize quantile 2.5%..97.5% of c
  text_length        = token_count           normalize 78..1509
  commas             = python "trainmeasures:commas"  normalize 0..6
}}
probe p from c {{ sources {sources} weighted uniform  requests 4 per source  active 1..3
                 goals reading_difficulty, formality, textual_diversity, text_length }}
model fake {{ litellm "openai/fake"  api_base "{url}"  api_key env STEERDSL_TEST_KEY }}
intervention direct {{ prompt direct }}
intervention best {{ prompt direct  negative  sample 5  temperature 1.0 }}
probe t from c {{ sources 4  requests 2 per source  active 1  exclude p
                 goals reading_difficulty, formality, text_length }}
intervention rl {{
  finetune grpo  on t  prompt direct  negative
  reward steering_error good_enough 0.05 decile
  reward orthogonality weight 0.5
  reward error formality weight 0.2
  steps 2  generations 2  batch 4
}}
evaluate {{ probe p  models fake  interventions direct, best }}
"""

MEASURES = '''
def commas(text):
    """Commas per sentence-ish; fails on texts that say FAIL (an unmeasurable answer)."""
    if "FAIL" in text:
        raise ValueError("cannot measure this one")
    return text.count(",") / max(1, text.count(".") + 1)
'''


def answer_variants(source: str, rng: random.Random) -> list[str]:
    words = source.split()
    half = " ".join(words[:max(1, len(words) // 2)])
    shuffled = words[:]
    rng.shuffle(shuffled)
    return [
        source,                                     # no move
        half,                                       # shorter
        source + " " + source,                      # longer
        "<THINK>I would rather not.</THINK>",       # empty once cleaned
        "Hi.",                                      # tiny: values clipped at 0
        " ".join([source] * 12),                    # very long: text length clipped at 1
        source + " FAIL",                           # the commas goal cannot measure it
        "Here is the rewritten text:\n" + half,      # a chatty preamble, cleaned away
        "<think>shorter, simpler</think>" + half,   # a reasoning block, cleaned away
        source.replace(" ", ", ", 8),               # more commas
        " ".join(shuffled),
        "Well, honestly, I think it's kinda fine, you know? " + half,
    ]


def reply_for(request: Request) -> Reply:
    source = request.prompt.split("\n\n", 1)[1]  # the text after the instruction, whole
    seed = int(hashlib.sha256(request.prompt.encode()).hexdigest()[:8], 16)
    rng = random.Random(seed)
    variants = answer_variants(source, rng)
    return Reply.ok(*[rng.choice(variants) for _ in range(request.n or 1)])


def write_spec(workdir: Path, url: str, sources: int = 6) -> Path:
    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    short = [r for r in records if len(r["text"].split()) < 200]
    (workdir / "corpus.jsonl").write_text(
        "".join(json.dumps({"text": r["text"]}) + "\n" for r in short), encoding="utf-8")
    (workdir / "trainmeasures.py").write_text(MEASURES, encoding="utf-8")
    spec = workdir / "exp.steer"
    spec.write_text(SPEC.format(url=url, sources=sources), encoding="utf-8")
    return spec


def scored_store(workdir: Path, sources: int) -> Path:
    """Run the spec end to end (every answer generated and scored); returns the spec path.
    The store is workdir/out/exp.duckdb."""
    import os

    import steerdsl

    os.environ.setdefault("STEERDSL_TEST_KEY", "sk-test")
    with FakeOpenAI(default=reply_for) as server:
        spec = write_spec(workdir, server.url, sources)
        steerdsl.load(spec).run()  # 'incomplete': the FAIL answers have a failed value
    return spec
