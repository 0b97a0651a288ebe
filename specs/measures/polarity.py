"""A user-defined goal for specs/custom_goals.steer: a tiny word-list sentiment score.

Any function str -> float works; steerdsl finds this file next to the spec
(python "measures.polarity:polarity").
"""

POSITIVE = {"good", "great", "happy", "excellent", "love", "pleased", "success", "best"}
NEGATIVE = {"bad", "poor", "sad", "terrible", "hate", "angry", "failure", "worst"}


def polarity(text: str) -> float:
    """(positive - negative) / (positive + negative) over lowercased words; 0 without any."""
    words = [w.strip(".,;:!?\"'()").lower() for w in text.split()]
    pos = sum(w in POSITIVE for w in words)
    neg = sum(w in NEGATIVE for w in words)
    return (pos - neg) / (pos + neg) if pos + neg else 0.0
