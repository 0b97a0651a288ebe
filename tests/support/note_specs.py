"""Specs over short unique notes ("Note 0. The committee met on a rainy day.", ...), a length
goal and the loopback OpenAI model `fake`: the spec the batch and judge tests write."""

from __future__ import annotations

import json
from pathlib import Path


def notes_spec(folder: Path, name: str, *, experiment: str, store: str, url: str,
               sources: int, requests: int = 1, budget: str = "",
               probe: tuple[str, ...] = (), model: tuple[str, ...] = (),
               interventions: dict[str, str], evaluate: str) -> Path:
    """Write `folder/name` and its corpus of `sources` notes (one probe source each).
    probe, model: the probe's and model's settings after the ones every such spec has;
    interventions: name -> its settings; evaluate: the evaluated interventions."""
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i in range(sources):
            f.write(json.dumps({"text": f"Note {i}. The committee met on a rainy day."}) + "\n")
    text = (
        _block(f"experiment {experiment}", "seed 3", f'store "{store}"',
               *([f"budget {budget}"] if budget else []))
        + 'corpus c { read "corpus.jsonl" text "text" }\n'
        + _block("goals", "length = char_count normalize 0..400")
        + _block("probe p from c", f"sources {sources} unweighted",
                 f"requests {requests} per source", "active 1", *probe)
        + _block("model fake", 'litellm "openai/fake"', f'api_base "{url}"', *model)
        + "".join(f"intervention {n} {{ {s} }}\n" for n, s in interventions.items())
        + f"evaluate {{ probe p  models fake  interventions {evaluate} }}\n")
    spec = folder / name
    spec.write_text(text, encoding="utf-8")
    return spec


def _block(header: str, *lines: str) -> str:
    return header + " {\n" + "".join(f"  {x}\n" for x in lines) + "}\n"
