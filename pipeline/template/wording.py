"""Word tables for fitting a routine to the listener's body (template/body.py): apart from logic."""

from __future__ import annotations

import re

LANGUAGES = ("en",)  # the words below are English: other routines refuse the body options
SIDES = ("left", "right")  # --dominant; templates are written with the left side first
# Words that ask for full strength, left out of a gentle tense line (case-insensitive).
STRONG_WORDS = re.compile(
    r",? *\b(?:tightly|tight|hard|as far as (?:they|it|you) can go|as much as you can)\b",
    re.IGNORECASE,
)
GENTLE_ADD = ", gently, at about half your strength"  # before the tense line's last sentence end
GENTLE_ADD_IF_GENTLE = ", at about half your strength"  # when the line already says gently
GENTLE_ALL = "all"
# Said once, before the first muscle group, when --skip leaves parts out.
SKIP_SECTION_ID = "left-to-rest"
SKIP_TITLE = "Resting an injured part"
SKIP_NOTE = "Today we leave out {parts}, and let {them} rest. Keep {them} still and comfortable."
SKIP_PAUSE_S = 1.5


def join_words(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
