"""steerdsl: declarative LLM steerability evaluation.

`import steerdsl` stays light: the API's modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from steerdsl.api import Spec


def load(path: "str | Path") -> "Spec":
    """Parse and check a .steer spec (raises SpecError with every error); see steerdsl.api."""
    from steerdsl.api import load as _load

    return _load(path)


__all__ = ["load"]
