"""Voice profiles: small TOML files naming an engine and how it should speak."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from ..delivery import Phrasing, check_phrasing
from ..errors import VoiceError, did_you_mean

ENGINES = ("piper", "gtts", "recorded")
ONLINE_ENGINES = ("gtts",)
# Google Translate hosts that give gTTS its regional accents (translate.google.<tld>).
GTTS_ACCENTS = ("com", "co.uk", "com.au", "co.in", "ca", "ie", "co.za")
PROFILE_KEYS = (
    "name",
    "engine",
    "language",
    "description",
    "model",
    "accent",
    "slow",
    "pace",
    "gain_db",
    "fallback",
    "pack",
    "phrasing",
)


@dataclass(frozen=True)
class VoiceProfile:
    name: str
    engine: str
    language: str
    description: str = ""
    model: str = ""  # piper: the package that ships the model
    accent: str = "com"  # gtts: the translate.google.<accent> host
    slow: bool = False  # gtts: Google's slow reading
    pace: float = 1.0  # tempo factor without pitch change: 0.8 is slower, 1.2 faster
    gain_db: float = 0.0
    fallback: str = ""  # profile used when this engine can't speak (unreachable, offline)
    pack: str = ""  # recorded: folder holding pack.toml (relative to the profile file)
    phrasing: Phrasing | None = None  # pauses between phrases; None: the routine's
    source: Path = field(default=Path("."), compare=False)

    @property
    def online(self) -> bool:
        return self.engine in ONLINE_ENGINES

    @property
    def pack_dir(self) -> Path:
        """The recorded pack folder; relative paths start at the profile's own folder."""
        return (self.source.parent / Path(self.pack).expanduser()).resolve()

    def cache_params(self) -> dict[str, Any]:
        """What shapes the sound: it goes into every clip's cache key."""
        params: dict[str, Any] = {
            "engine": self.engine,
            "language": self.language,
            "model": self.model,
            "pace": self.pace,
            "gain_db": self.gain_db,
        }
        if self.engine == "gtts":
            params |= {"accent": self.accent, "slow": self.slow}
        return params


def voice_dirs() -> list[Path]:
    """Where profiles are looked up, first match wins: $PMR_VOICES_DIR, the user's voices
    folder, then the built-in ones (shipped in the wheel, or the repo's voices/ when editable)."""
    dirs = []
    if env := os.environ.get("PMR_VOICES_DIR"):
        dirs.append(Path(env))
    dirs.append(Path(platformdirs.user_config_dir("pmr")) / "voices")
    package = Path(__file__).resolve().parent.parent
    dirs += [package / "voices", package.parent / "voices"]
    return [d for d in dirs if d.is_dir()]


def available_voices() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in voice_dirs():
        for path in sorted(folder.glob("*.toml")):
            found.setdefault(path.stem, path)
    return found


def load_voice(name: str) -> VoiceProfile:
    """A profile by name, or by path to a .toml file."""
    if name.endswith(".toml"):
        path = Path(name)
        if not path.is_file():
            raise VoiceError(f"{name}: no such voice profile file")
        return parse_voice(path)
    voices = available_voices()
    if name not in voices:
        raise VoiceError(
            f"unknown voice {name!r}{did_you_mean(name, voices)}; "
            f"available voices: {', '.join(sorted(voices)) or 'none'}"
        )
    return parse_voice(voices[name])


def _number(path: Path, doc: dict[str, Any], key: str, default: float, lo: float, hi: float):
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise VoiceError(f"{path}: {key}: {value!r} must be a number from {lo:g} to {hi:g}")
    return float(value)


def parse_voice(path: Path) -> VoiceProfile:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VoiceError(f"{path}: can't read voice profile: {exc}") from None
    for key in doc:
        if key not in PROFILE_KEYS:
            raise VoiceError(
                f"{path}: {key}: unknown key{did_you_mean(key, PROFILE_KEYS)}; "
                f"valid keys: {', '.join(PROFILE_KEYS)}"
            )
    for key in ("name", "engine", "language"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise VoiceError(f"{path}: {key}: needs a non-empty string")
    for key in ("description", "model", "accent", "fallback", "pack"):
        if key in doc and not isinstance(doc[key], str):
            raise VoiceError(f"{path}: {key}: {doc[key]!r} must be a string")
    engine = doc["engine"]
    if engine not in ENGINES:
        raise VoiceError(
            f"{path}: engine: {engine!r} is unknown{did_you_mean(engine, ENGINES)}; "
            f"valid: {', '.join(ENGINES)}"
        )
    accent = doc.get("accent", "com")
    if accent not in GTTS_ACCENTS:
        raise VoiceError(
            f"{path}: accent: {accent!r} is unknown{did_you_mean(accent, GTTS_ACCENTS)}; "
            f"valid: {', '.join(GTTS_ACCENTS)}"
        )
    slow = doc.get("slow", False)
    if not isinstance(slow, bool):
        raise VoiceError(f"{path}: slow: {slow!r} must be true or false")
    if engine == "gtts":
        from gtts.lang import tts_langs  # a table shipped with gTTS: no network

        langs = tts_langs()
        if doc["language"] not in langs:
            raise VoiceError(
                f"{path}: language: {doc['language']!r} is not a gTTS language"
                f"{did_you_mean(doc['language'], langs)}; e.g. en, es, fr, de"
            )
    if engine == "recorded" and not doc.get("pack"):
        raise VoiceError(f"{path}: pack: a recorded voice needs the folder of its pack.toml")
    if doc.get("fallback") == doc["name"]:
        raise VoiceError(f"{path}: fallback: a voice can't fall back to itself")
    phrasing = None
    if "phrasing" in doc:
        try:
            phrasing = check_phrasing(doc["phrasing"], f"{path}: phrasing")
        except ValueError as error:
            raise VoiceError(str(error)) from None
    return VoiceProfile(
        name=doc["name"],
        engine=engine,
        language=doc["language"],
        description=str(doc.get("description", "")),
        model=str(doc.get("model", "")),
        accent=accent,
        slow=slow,
        pace=_number(path, doc, "pace", 1.0, 0.5, 2.0),
        gain_db=_number(path, doc, "gain_db", 0.0, -30, 10),
        fallback=str(doc.get("fallback", "")),
        pack=str(doc.get("pack", "")),
        phrasing=phrasing,
        source=path,
    )
