"""Specs of closed-loop feedback runs over the loopback rewriter's world (support/rewriter.py)."""

from __future__ import annotations

import json
from pathlib import Path

from support import rewriter

SPEC = """
experiment fb {{
  seed {seed}
  store "{store}"{budget}
}}
corpus c {{ read "corpus.jsonl" text "text" }}
{goals}
{prompt}
probe p from c {{
  sources {sources} unweighted
  requests 2 per source
  active 1..2
  delta -0.5..0.5 deadzone 0.1
}}
model fake {{
  litellm "openai/fake"
  api_base "{url}"
  concurrency 4
  retries 1{price}
}}
intervention direct {{ prompt direct3 }}
intervention loop {{ prompt direct3  feedback {rounds} rounds }}
evaluate {{ probe p  models fake  interventions {interventions} }}
"""


def write_spec(folder: Path, url: str, *, store: str = "fb.duckdb", seed: int = 5,
               sources: int = 12, rounds: int = 2, interventions: str = "direct, loop",
               budget: float | None = None, price: float | None = None) -> Path:
    """A spec over the rewriter's world: its corpus (40 texts), goals and prompt."""
    with open(folder / "corpus.jsonl", "w") as f:
        for text in rewriter.corpus_texts(40, seed=2):
            f.write(json.dumps({"text": text}) + "\n")
    spec = folder / f"{store}.steer"
    spec.write_text(SPEC.format(seed=seed, store=store, goals=rewriter.GOALS,
                                prompt=rewriter.PROMPT, sources=sources, url=url,
                                rounds=rounds, interventions=interventions,
                                budget=f"\n  budget {budget}" if budget else "",
                                price=f"\n  price in {price} out {price}" if price else ""))
    return spec


def round_of(body: dict) -> int:
    """The round a request asks for: its number of feedback messages."""
    return (len(body.get("messages", [])) - 1) // 2


def conversation_key(body: dict) -> tuple[str, int]:
    """(the probe prompt, the round): one request per conversation and round."""
    return body["messages"][0]["content"], round_of(body)
