"""Specs of calibrated interventions over the loopback rewriter's world (support.rewriter)."""

from __future__ import annotations

import json
from pathlib import Path

from support import rewriter

SPEC = """
experiment cal {{
  seed {seed}
  store "{store}"
}}
corpus c {{ read "corpus.jsonl" text "text" }}
{goals}
{prompt}
probe eval from c {{
  sources {eval_sources} unweighted
  requests 2 per source
  active 1..2
}}
probe fit from c {{
  sources {fit_sources} unweighted
  requests 4 per source
  active 1..2
  exclude eval
}}
model fake {{
  litellm "openai/fake"
  api_base "{url}"
  concurrency 4
  retries 1
}}
intervention direct {{ prompt direct3 }}
intervention calibrated {{ prompt direct3  calibrate on fit }}
evaluate {{ probe eval  models fake  interventions direct, calibrated }}
"""


def write_spec(folder: Path, url: str, *, store: str = "cal.duckdb", seed: int = 5,
               eval_sources: int = 20, fit_sources: int = 30, texts: int = 60) -> Path:
    with open(folder / "corpus.jsonl", "w") as f:
        for text in rewriter.corpus_texts(texts, seed=1):
            f.write(json.dumps({"text": text}) + "\n")
    spec = folder / f"{Path(store).stem}.steer"
    spec.write_text(SPEC.format(seed=seed, store=store, url=url, goals=rewriter.GOALS,
                                prompt=rewriter.PROMPT, eval_sources=eval_sources,
                                fit_sources=fit_sources))
    return spec
