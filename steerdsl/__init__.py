"""steerdsl: declarative LLM steerability evaluation.

`import steerdsl` stays light: the API's modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from steerdsl.api import Spec


def load(path: "str | Path") -> "Spec":
    """Parse and check a .steer spec (raises SpecError with every error); see steerdsl.api."""
    from steerdsl.api import load as _load

    return _load(path)


def rewards(spec: "str | Path | Spec", names: "Sequence[str] | None" = None, *,
            intervention: str | None = None) -> "list[Callable[..., list[float]]]":
    """Reward functions (TRL's signature) in a spec's goal space; see steerdsl.api.rewards."""
    from steerdsl.api import rewards as _rewards

    return _rewards(spec, names, intervention=intervention)


__all__ = ["load", "rewards"]
