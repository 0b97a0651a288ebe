"""Typed stage keys: what a stage is of. A stage's id string ("generate:llama/direct") is
derived from its key, for people and for the store's `stages_done` and `current` tables;
nothing reads names back out of an id.

The kinds, in the order a run executes them, are `STAGE_KINDS`: the plan's stage order and
`steerdsl run --until` derive from it, and steerdsl.stages.STAGES is checked against it.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field


class _Key(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @property
    def id(self) -> str:
        raise NotImplementedError


class CorpusKey(_Key):
    kind: Literal["corpus"] = "corpus"
    corpus: str

    @property
    def id(self) -> str:
        return f"corpus:{self.corpus}"


class MeasureKey(_Key):
    kind: Literal["measure"] = "measure"
    corpus: str

    @property
    def id(self) -> str:
        return f"measure:{self.corpus}"


class SpaceKey(_Key):
    kind: Literal["space"] = "space"

    @property
    def id(self) -> str:
        return "space"


class ProbeKey(_Key):
    kind: Literal["probe"] = "probe"
    probe: str

    @property
    def id(self) -> str:
        return f"probe:{self.probe}"


class GenerateKey(_Key):
    """One model x intervention over the evaluated probe. The probe is not in the id (one
    probe is evaluated per spec, and ids stay as stores written before keys know them)."""

    kind: Literal["generate"] = "generate"
    model: str
    intervention: str
    probe: str

    @property
    def id(self) -> str:
        return f"generate:{self.model}/{self.intervention}"

    @property
    def score(self) -> ScoreKey:
        return ScoreKey(model=self.model, intervention=self.intervention, probe=self.probe)


class ScoreKey(_Key):
    kind: Literal["score"] = "score"
    model: str
    intervention: str
    probe: str

    @property
    def id(self) -> str:
        return f"score:{self.model}/{self.intervention}"

    @property
    def generate(self) -> GenerateKey:
        return GenerateKey(model=self.model, intervention=self.intervention, probe=self.probe)


StageKey = Annotated[
    Union[CorpusKey, MeasureKey, SpaceKey, ProbeKey, GenerateKey, ScoreKey],
    Field(discriminator="kind"),
]

StageKind = Literal["corpus", "measure", "space", "probe", "generate", "score"]
STAGE_KINDS: tuple[str, ...] = get_args(StageKind)
