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

    kind: str

    @property
    def id(self) -> str:
        """"kind:subject", or the kind alone for a stage of which there is one."""
        subject = self._subject()
        return f"{self.kind}:{subject}" if subject else self.kind

    def _subject(self) -> str:
        return ""


class CorpusKey(_Key):
    kind: Literal["corpus"] = "corpus"
    corpus: str

    def _subject(self) -> str:
        return self.corpus


class MeasureKey(_Key):
    kind: Literal["measure"] = "measure"
    corpus: str

    def _subject(self) -> str:
        return self.corpus


class SpaceKey(_Key):
    kind: Literal["space"] = "space"


class ProbeKey(_Key):
    kind: Literal["probe"] = "probe"
    probe: str

    def _subject(self) -> str:
        return self.probe


class TrainKey(_Key):
    """The adapter a fine-tune intervention trains on one (base) model."""

    kind: Literal["train"] = "train"
    model: str
    intervention: str

    def _subject(self) -> str:
        return f"{self.model}/{self.intervention}"


class _GenerationKey(_Key):
    """One model x intervention over the evaluated probe. The probe is not in the id (one
    probe is evaluated per spec, and ids stay as stores written before keys know them)."""

    model: str
    intervention: str
    probe: str

    def _subject(self) -> str:
        return f"{self.model}/{self.intervention}"


class CalibrateKey(_GenerationKey):
    """The fit of a calibrated prompt intervention on one model: its answers to the
    calibration probe (`probe` here: not the evaluated one), measured, and how their realized
    movement follows the requested one."""

    kind: Literal["calibrate"] = "calibrate"


class GenerateKey(_GenerationKey):
    kind: Literal["generate"] = "generate"

    @property
    def score(self) -> ScoreKey:
        return ScoreKey(model=self.model, intervention=self.intervention, probe=self.probe)


class JudgeKey(_GenerationKey):
    """The groundedness verdicts of one generation's answers, by the evaluated judge."""

    kind: Literal["judge"] = "judge"
    judge: str

    @property
    def generate(self) -> GenerateKey:
        return GenerateKey(model=self.model, intervention=self.intervention, probe=self.probe)


class ScoreKey(_GenerationKey):
    kind: Literal["score"] = "score"

    @property
    def generate(self) -> GenerateKey:
        return GenerateKey(model=self.model, intervention=self.intervention, probe=self.probe)


StageKey = Annotated[
    Union[CorpusKey, MeasureKey, SpaceKey, ProbeKey, TrainKey, CalibrateKey, GenerateKey,
          ScoreKey, JudgeKey],
    Field(discriminator="kind"),
]

# judge comes after score: best-of-N selection (by default only the selected candidate is
# judged) needs the answers' scores. calibrate comes before generate: the calibrated requests
# come from its fit.
StageKind = Literal["corpus", "measure", "space", "probe", "train", "calibrate", "generate",
                    "score", "judge"]
STAGE_KINDS: tuple[str, ...] = get_args(StageKind)
