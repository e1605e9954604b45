"""File names that survive FAT32/exFAT memory cards, phones and every desktop OS."""

from __future__ import annotations

import re
import unicodedata

from .tuning import SAFE_NAME_MAX_CHARS

# Forbidden on FAT32/exFAT/NTFS, and control characters: dropped; path separators become '-'.
_DROP = re.compile(r"[\x00-\x1f\x7f?*<>|]+")
_DASH = re.compile(r"[/\\:]+")
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{d}{n}" for d in ("com", "lpt") for n in range(10)}


def safe_filename(text: str, suffix: str = "", max_chars: int = SAFE_NAME_MAX_CHARS) -> str:
    """`text` as a portable file name ending in `suffix` (e.g. '.mp3'), at most `max_chars`.

    ':' becomes ' - ', '/' and '\\' '-', '"' becomes "'", ?*<>| and control characters go;
    runs of spaces collapse, trailing dots and spaces go (Windows drops them), reserved
    device names (CON, NUL, COM1...) get a '_' prefix.
    """
    name = " ".join(unicodedata.normalize("NFC", text).split())  # tabs, newlines -> spaces
    name = re.sub(r"\s*:\s*", " - ", name)  # "Week 1: Learn" reads well as "Week 1 - Learn"
    name = _DASH.sub("-", _DROP.sub("", name.replace('"', "'")))
    name = " ".join(name.split()).strip(" .-") or "untitled"
    if name.split(".")[0].lower() in _RESERVED:
        name = f"_{name}"
    room = max_chars - len(suffix)
    if len(name) > room:
        name = name[:room].rstrip(" .-")
    return f"{name}{suffix}"
