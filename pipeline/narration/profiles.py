"""Voice profiles: small TOML files naming an engine and how it should speak."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from ..errors import VoiceError, did_you_mean

ENGINES = ("piper",)
PROFILE_KEYS = ("name", "engine", "language", "description", "model", "pace", "gain_db")


@dataclass(frozen=True)
class VoiceProfile:
    name: str
    engine: str
    language: str
    description: str = ""
    model: str = ""
    pace: float = 1.0  # speaking-rate factor: 0.8 is slower, 1.2 faster
    gain_db: float = 0.0
    source: Path = field(default=Path("."), compare=False)

    def cache_params(self) -> dict[str, Any]:
        """What shapes the sound: it goes into every clip's cache key."""
        return {
            "engine": self.engine,
            "language": self.language,
            "model": self.model,
            "pace": self.pace,
            "gain_db": self.gain_db,
        }


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
    voices = available_voices()
    if name not in voices:
        raise VoiceError(
            f"unknown voice {name!r}{did_you_mean(name, voices)}; "
            f"available voices: {', '.join(sorted(voices)) or 'none'}"
        )
    return parse_voice(voices[name])


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
    if doc["engine"] not in ENGINES:
        raise VoiceError(
            f"{path}: engine: {doc['engine']!r} is unknown; valid: {', '.join(ENGINES)}"
        )
    pace = doc.get("pace", 1.0)
    if isinstance(pace, bool) or not isinstance(pace, int | float) or not 0.5 <= pace <= 2.0:
        raise VoiceError(f"{path}: pace: {pace!r} must be a number from 0.5 to 2.0")
    gain = doc.get("gain_db", 0.0)
    if isinstance(gain, bool) or not isinstance(gain, int | float) or not -30 <= gain <= 10:
        raise VoiceError(f"{path}: gain_db: {gain!r} must be a number from -30 to 10 dB")
    return VoiceProfile(
        name=doc["name"],
        engine=doc["engine"],
        language=doc["language"],
        description=str(doc.get("description", "")),
        model=str(doc.get("model", "")),
        pace=float(pace),
        gain_db=float(gain),
        source=path,
    )
