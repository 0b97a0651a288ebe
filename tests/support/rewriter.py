"""A deterministic, systematically miscalibrated rewriter for FakeOpenAI (tests/support).

    with FakeOpenAI(default=rewriter.default) as server: ...

It answers `direct` prompts over a small world it controls exactly:

- texts are lowercase made-up words (consonant-vowel, at least 3 letters) joined by spaces,
  with one final period: spaCy's alphabetic tokens are exactly the words, so the built-in
  measures below are known to the rewriter without spaCy;
- three goals (GOALS, the spec's `goals` block; PROMPT, a direct prompt with their phrases):
  `length` = word_count, `wordlen` = char_count / word_count (mean letters per word + 1),
  `variety` = type_token_ratio.

What it does with a request, in normalized units (Behaviour, DEFAULT):
- reads each intent of the prompt ("much longer", "use slightly shorter words", ...) by
  rendering every (goal, bucket) with steerdsl's own `intent()`, so its reading follows the
  prompt's phrases and modifiers; a bucket means MEANING[modifier word] (slightly 0.15, none
  0.35, much 0.6);
- moves each requested goal by `gain * meaning` (length overshoots: gain 2; wordlen
  undershoots: gain 0.4; variety is accurate);
- moves `variety` by `side * (realized length move)` when length moves and variety was neither
  requested nor asked to stay ("keep variety unchanged"): the side effect;
- then writes a text with those values (rounded to whole words and letters, clipped to what
  the world can express).

Everything is a pure function of the prompt: the same prompt gives the same answer.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from steerdsl.plan.model import Modifier, Phrase
from steerdsl.plan.prompts import DEFAULT_MODIFIERS
from steerdsl.prompts.render import intent
from support.fake_openai import Reply, Request, source_of

# --- the world: goals, their normalization, the prompt's phrases ---

GOALS = """goals {
  length = word_count normalize 0..100
  wordlen = char_count / word_count normalize 4..10
  variety = type_token_ratio normalize 0..1
}"""

PROMPT = """prompt direct3 extends direct {
  phrase wordlen up "use longer words" down "use shorter words"
}"""

BOUNDS = {"length": (0.0, 100.0), "wordlen": (4.0, 10.0), "variety": (0.0, 1.0)}
PHRASES = {
    "length": Phrase(up="longer", down="shorter"),
    "wordlen": Phrase(up="use longer words", down="use shorter words"),
    "variety": Phrase(up="use more varied words", down="use less varied words"),
}
# What the rewriter takes each modifier to mean (|normalized move|); "" = no modifier.
MEANING = {"slightly": 0.15, "": 0.35, "much": 0.6}
KEEP = "keep {goal} unchanged"

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_MIN_LETTERS = 3


@dataclass(frozen=True)
class Behaviour:
    """How wrong the rewriter is: realized = gain * meaning per goal, and side effects
    (goal moved -> other goal, coefficient on the realized move)."""

    gain: dict[str, float] = field(default_factory=lambda: {
        "length": 2.0, "wordlen": 0.4, "variety": 1.0})
    side: dict[tuple[str, str], float] = field(default_factory=lambda: {
        ("length", "variety"): -0.5})


DEFAULT = Behaviour()


# --- texts of the world ---

@dataclass(frozen=True)
class Values:
    """A text's raw values: words (word_count), mean letters per word, distinct / words."""

    words: int
    letters: float
    variety: float

    def normalized(self) -> dict[str, float]:
        raw = {"length": self.words, "wordlen": self.letters + 1, "variety": self.variety}
        return {g: _norm(raw[g], *BOUNDS[g]) for g in BOUNDS}


def _norm(x: float, lo: float, hi: float) -> float:
    return min(max((x - lo) / (hi - lo), 0.0), 1.0)


def word(j: int, letters: int) -> str:
    """The j-th made-up word with `letters` letters (distinct for distinct (j, letters))."""
    assert j < len(_CONSONANTS) ** 2 * len(_VOWELS), "too many distinct words"
    code = [_CONSONANTS[j % 14], _VOWELS[(j // 14) % 5], _CONSONANTS[(j // 70) % 14]]
    pad = "anel"  # alternates vowel / consonant after the 3-letter code
    return "".join(code) + "".join(pad[i % 4] for i in range(max(letters, 3) - 3))


def make_text(v: Values) -> str:
    n = max(1, v.words)
    distinct = min(n, max(1, round(v.variety * n)))
    uses = [len(range(j, n, distinct)) for j in range(distinct)]  # tokens cycle the words
    base = max(_MIN_LETTERS, int(v.letters))
    extra = max(0, round(v.letters * n) - base * n)  # letters still to place
    lengths = []
    for count in uses:  # greedy: one more letter to each word while it still fits
        longer = count <= extra
        extra -= count if longer else 0
        lengths.append(base + longer)
    return " ".join(word(i % distinct, lengths[i % distinct]) for i in range(n)) + "."


def values_of(text: str) -> Values:
    words = text.strip().rstrip(".").split()
    n = len(words)
    if not n:
        return Values(0, 0.0, 0.0)
    return Values(n, sum(map(len, words)) / n, len(set(words)) / n)


def corpus_texts(count: int, seed: int = 0) -> list[str]:
    """Source texts spread over the world: 25-60 words, 4-6.5 letters, variety 0.4-0.9."""
    rng = random.Random(seed)
    return [make_text(Values(rng.randint(25, 60), rng.uniform(4.0, 6.5), rng.uniform(0.4, 0.9)))
            for _ in range(count)]


# --- reading a prompt ---

def _lexicon(modifiers: list[Modifier]) -> dict[str, tuple[str, float]]:
    """Every intent the prompt can say -> (goal, signed meaning)."""
    out: dict[str, tuple[str, float]] = {}
    for goal, phrase in PHRASES.items():
        for sign in (1, -1):
            for m in (0.15, 0.35, 0.6):  # one delta per bucket of the default modifiers
                said = intent(phrase, sign * m, modifiers)
                out[said] = (goal, sign * MEANING[_modifier(said)])
        out[KEEP.format(goal=goal)] = (goal, 0.0)
    return out


def _modifier(said: str) -> str:
    """The modifier word of an intent, in front or inside ("use much more varied words")."""
    return next((w for w in said.split() if w and w in MEANING), "")


_LEXICON = _lexicon(DEFAULT_MODIFIERS)
_REQUESTS = re.compile(r"make it (.*?)\.(?:\s|$)", re.DOTALL)


def read_requests(prompt: str) -> tuple[dict[str, float], set[str]]:
    """(goal -> signed meaning of what was asked, goals asked to stay unchanged)."""
    head = prompt[: len(prompt) - len(source_of(prompt))]
    m = _REQUESTS.search(head)
    moves: dict[str, float] = {}
    keep: set[str] = set()
    if not m:
        return moves, keep
    for part in re.split(r", and |, ", m.group(1)):
        found = _LEXICON.get(part.strip())
        if found is None:
            continue  # "as close to the original as possible", or words it does not know
        goal, meaning = found
        if part.strip().startswith("keep "):
            keep.add(goal)
        else:
            moves[goal] = meaning
    return moves, keep


# --- answering ---

def rewrite(prompt: str, behaviour: Behaviour = DEFAULT) -> str:
    source = values_of(source_of(prompt)).normalized()
    asked, keep = read_requests(prompt)
    moved = {g: behaviour.gain[g] * m for g, m in asked.items()}
    target = dict(source)
    for g, move in moved.items():
        target[g] = source[g] + move
    for (cause, effect), coefficient in behaviour.side.items():
        if cause in moved and effect not in asked and effect not in keep:
            target[effect] = source[effect] + coefficient * moved[cause]
    raw = {g: lo + min(max(target[g], 0.0), 1.0) * (hi - lo) for g, (lo, hi) in BOUNDS.items()}
    return make_text(Values(max(1, round(raw["length"])), max(raw["wordlen"] - 1, _MIN_LETTERS),
                            raw["variety"]))


def default(request: Request) -> Reply:
    """FakeOpenAI's default reply: the rewrite of the request's prompt (every choice alike)."""
    return Reply.ok(rewrite(request.prompt))
