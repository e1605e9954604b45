"""Cut a line into pieces an online engine accepts (gTTS: 100 characters), at natural places.

Pure `str -> list[str]` functions. gTTS's own tokenizer cuts long text wherever the limit falls
("...tighten the mus" / "cles of your..."), which sounds broken; pmr cuts at sentence ends first,
then at clause marks, then between words, and joins the spoken pieces with a short pause.
"""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
CLAUSE_END = re.compile(r"(?<=[,;:])\s+|\s+(?=[\u2014\u2013-]\s)")


def split_for_tts(text: str, max_chars: int) -> list[str]:
    """Pieces of at most `max_chars` characters, each ending at the best boundary available."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return [text] if text else []
    units: list[str] = []
    for sentence in _split(SENTENCE_END, text):
        if len(sentence) <= max_chars:
            units.append(sentence)
            continue
        clauses: list[str] = []
        for clause in _split(CLAUSE_END, sentence):
            clauses += [clause] if len(clause) <= max_chars else _words(clause, max_chars)
        units += _pack(clauses, max_chars)
    return _pack(units, max_chars)


def ends_sentence(piece: str) -> bool:
    """True when a piece closes a sentence (it earns a longer pause than a clause)."""
    return bool(re.search(r"[.!?…][\"')\]]*$", piece))


def _split(pattern: re.Pattern[str], text: str) -> list[str]:
    return [part for part in pattern.split(text) if part]


def _words(text: str, max_chars: int) -> list[str]:
    """Between words; a single word longer than the limit is cut (nothing better exists)."""
    out: list[str] = []
    for word in text.split(" "):
        out += [word[i : i + max_chars] for i in range(0, len(word), max_chars)]
    return _pack(out, max_chars)


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Join neighbours greedily while they fit, so short sentences share one request."""
    pieces: list[str] = []
    for part in parts:
        if pieces and len(pieces[-1]) + 1 + len(part) <= max_chars:
            pieces[-1] = f"{pieces[-1]} {part}"
        else:
            pieces.append(part)
    return pieces
