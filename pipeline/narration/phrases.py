"""A line as phrases: cut at sentence ends (and at clauses), spoken one by one, joined by pauses.

Guided relaxation is read in short phrases with space between them; an engine that reads a
whole line reads it like an audiobook. So every synthetic engine gets one phrase at a time,
each phrase is cached on its own (editing one sentence re-synthesizes only that sentence),
and the line is joined from them with the routine's pauses. Pure functions of text.

Clauses are cut only where the engine's intonation survives it: each side of the cut must be
at least `MIN_CLAUSE_WORDS` words and end on its own punctuation (the comma stays with the
phrase, so the engine reads it as a continuation, not an ending). An engine that takes at
most `max_chars` characters (gTTS: 100) gets longer pieces cut at clauses, then between words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..delivery import Phrasing
from .textsplit import CLAUSE_END, SENTENCE_END, split_for_tts

__all__ = ["Phrase", "Phrasing", "phrases"]

MIN_CLAUSE_WORDS = 4  # "Now, ..." or "Slowly, ..." stay whole: too short to stand alone


@dataclass(frozen=True)
class Phrase:
    text: str
    pause_after_s: float  # silence after this phrase; 0.0 for the line's last


def phrases(text: str, phrasing: Phrasing, max_chars: int | None = None) -> tuple[Phrase, ...]:
    """The phrases of one line with the pause after each (the last one's is 0)."""
    text = " ".join(text.split())
    pieces: list[tuple[str, float]] = []
    for sentence in _split(SENTENCE_END, text):
        parts = _clauses(sentence) if phrasing.clause_s > 0 else [sentence]
        if max_chars is not None:
            parts = [piece for part in parts for piece in split_for_tts(part, max_chars)]
        pieces += [(part, phrasing.clause_s) for part in parts[:-1]]
        pieces.append((parts[-1], phrasing.sentence_s))
    return tuple(
        Phrase(piece, 0.0 if index == len(pieces) - 1 else pause)
        for index, (piece, pause) in enumerate(pieces)
    )


def _split(pattern: re.Pattern[str], text: str) -> list[str]:
    return [part for part in pattern.split(text) if part.strip()]


def _clauses(sentence: str) -> list[str]:
    """Cut at clause marks where both sides have at least MIN_CLAUSE_WORDS words; a short
    clause joins its neighbour."""
    out: list[str] = []
    for part in _split(CLAUSE_END, sentence):
        if out and len(out[-1].split()) < MIN_CLAUSE_WORDS:
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    if len(out) > 1 and len(out[-1].split()) < MIN_CLAUSE_WORDS:
        tail = out.pop()
        out[-1] = f"{out[-1]} {tail}"
    return out
