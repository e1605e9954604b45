"""How a routine is read: its pace and the pauses between phrases. Pure data and checks.

A routine states a mood (`[routine] pace = "calm"` or `"sleep"`) or a number; the number
scales the voice profile's own pace (Piper's length_scale, gTTS's tempo), so each voice keeps
its character and every voice reads a `sleep` routine slower than a `calm` one. A mood also
sets the phrasing (`[routine] phrasing = { sentence = ..., clause = ... }` overrides it, and a
voice profile's `phrasing` overrides that). `--pace` replaces the routine's pace.

The moods' figures were chosen by measuring the decoded MP3s (pipeline/check.py) of the
built-in routines with piper-joe: calm lands at 110-140 words per minute over line time, sleep
at 95-120 (README, "Pace").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .tuning import PACE_MOODS

PHRASING_KEYS = ("sentence", "clause")
MAX_PAUSE_S = 5.0
MIN_PACE, MAX_PACE = 0.4, 1.5
DEFAULT_MOOD = "calm"


@dataclass(frozen=True)
class Phrasing:
    """Silence (s) between the voiced frames of two phrases of one line."""

    sentence_s: float = PACE_MOODS[DEFAULT_MOOD][1]  # after a sentence end (. ! ? …)
    clause_s: float = PACE_MOODS[DEFAULT_MOOD][2]  # after a clause mark; 0: clauses stay whole

    def key(self) -> str:
        """What goes into a line's cache key: the joined clip depends on it."""
        return f"phrasing {self.sentence_s:g}/{self.clause_s:g}"


@dataclass(frozen=True)
class Delivery:
    pace: float = PACE_MOODS[DEFAULT_MOOD][0]  # x the voice profile's pace
    phrasing: Phrasing = field(default_factory=Phrasing)
    mood: str = DEFAULT_MOOD  # the mood named, or "" for a plain number


def resolve_pace(value: object, where: str) -> Delivery:
    """A mood name or a number (x the voice's pace), or ValueError naming `where`."""
    if isinstance(value, str) and value.strip().lower() in PACE_MOODS:
        mood = value.strip().lower()
        pace, sentence_s, clause_s = PACE_MOODS[mood]
        return Delivery(pace, Phrasing(sentence_s, clause_s), mood)
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ValueError(
            f"{where}: {value!r} is not a pace; give a mood ({', '.join(PACE_MOODS)}) or a "
            f"number from {MIN_PACE:g} to {MAX_PACE:g} (x the voice's own pace; lower is slower)"
        )
    if not MIN_PACE <= number <= MAX_PACE:  # also false for NaN
        raise ValueError(f"{where}: {number:g} is out of range; give {MIN_PACE:g} to {MAX_PACE:g}")
    return Delivery(float(number), Phrasing(), "")


def check_phrasing(value: object, where: str) -> Phrasing:
    """`{ sentence = 0.8, clause = 0.4 }` from a template or a profile, or ValueError naming
    `where` (the file and key) and what is valid."""
    if not isinstance(value, dict):
        raise ValueError(
            f"{where}: give a table such as {{ sentence = 0.8, clause = 0.4 }} (seconds)"
        )
    unknown = sorted(set(value) - set(PHRASING_KEYS))
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown key; valid: {', '.join(PHRASING_KEYS)}")
    numbers = {}
    for key in PHRASING_KEYS:
        number = value.get(key, getattr(Phrasing(), f"{key}_s"))
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"{where}.{key}: {number!r} is not a number of seconds")
        if not 0 <= number <= MAX_PAUSE_S:
            raise ValueError(f"{where}.{key}: {number:g} s; give 0 to {MAX_PAUSE_S:g} seconds")
        numbers[key] = float(number)
    return Phrasing(numbers["sentence"], numbers["clause"])
