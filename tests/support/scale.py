"""A corpus of short generated texts and a spec over it at any probe size: what the 100k-row
test (tests/test_run_scale.py) and benchmarks/scale.py run."""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = ("the a this that we you they it our their people city river report study market "
         "school plan idea result change government research evidence analysis committee "
         "approximately considerable substantial fundamental comprehensive nevertheless "
         "however quickly slowly carefully said found built moved opened showed wrote "
         "small large new old early late public private local national simple complex "
         "morning evening winter summer family children teacher doctor engineer council").split()

SPEC = """
experiment scale {{ seed 7  store "{store}" }}
corpus seeds {{ read "{corpus}" text "text" }}
goals {{
  reading_difficulty = flesch_kincaid_grade  normalize 0..16
  formality          = heylighen_dewaele     normalize 30..80
  textual_diversity  = mtld                  normalize quantile 2.5%..97.5% of seeds
  text_length        = token_count           normalize 5..80
}}
probe p from seeds {{
  sources {sources} {weighting}
  requests {requests} per source
  active 1..3
  delta -0.7..0.7 deadzone 0.1
}}
model fake {{
  litellm "openai/fake"
  api_base "{url}"
  api_key env {key}
  concurrency 64
  timeout 60{batch}{price}
}}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models fake  interventions direct }}
"""

GOALS = ("reading_difficulty", "formality", "textual_diversity", "text_length")


def make_corpus(path: Path, n: int, seed: int = 1) -> None:
    """n short texts (two to four sentences of 5-14 words), varied enough that the four
    goals spread over their ranges."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            sentences = []
            for _ in range(rng.randint(2, 4)):
                words = [rng.choice(WORDS) for _ in range(rng.randint(5, 14))]
                sentences.append(" ".join(words).capitalize() + ".")
            f.write(json.dumps({"id": i, "text": " ".join(sentences)}) + "\n")


def write_spec(path: Path, *, store: Path, corpus: Path, url: str, sources: int,
               requests: int, key: str, weighted: bool = True, batch: bool = False,
               price: str = "") -> Path:
    """The spec: one model (the loopback server at `url`, its key in the environment
    variable `key`; `batch on`, `price PRICE` when given), one intervention, a probe of
    sources x requests rows."""
    path.write_text(SPEC.format(store=store, corpus=corpus, url=url, sources=sources,
                                requests=requests, key=key,
                                weighting="weighted uniform" if weighted else "unweighted",
                                batch="\n  batch on" if batch else "",
                                price=f"\n  price {price}" if price else ""), encoding="utf-8")
    return path
