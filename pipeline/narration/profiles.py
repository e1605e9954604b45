"""Voice profiles: small TOML files naming an engine and how it should speak.

The common keys are read here; the engine's own keys (Piper's model, gTTS's accent, a
recorded pack's folder) by that engine's `EngineOptions` in engines/."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from ..errors import VoiceError, did_you_mean
from ..template.tomlfile import read_toml
from .engines import REGISTRY, EngineOptions
from .engines.base import number, string

COMMON_KEYS = ("name", "engine", "language", "description", "pace", "gain_db", "fallback")


@dataclass(frozen=True)
class VoiceProfile:
    """The keys every voice has; the engine's own keys are in `options` (see engines/)."""

    name: str
    engine: str  # a name in engines.REGISTRY
    language: str
    description: str = ""
    pace: float = 1.0  # tempo factor without pitch change: 0.8 is slower, 1.2 faster
    gain_db: float = 0.0
    fallback: str = ""  # profile used when this engine can't speak (unreachable, offline)
    options: EngineOptions = field(default_factory=EngineOptions)
    source: Path = field(default=Path("."), compare=False)

    @property
    def online(self) -> bool:
        return REGISTRY[self.engine].engine.online

    def cache_params(self) -> dict[str, Any]:
        """What shapes the sound: it goes into every clip's cache key. `model` stays "" for
        engines without one, so clips cached before the engine registry keep their keys."""
        params: dict[str, Any] = {
            "engine": self.engine,
            "language": self.language,
            "model": "",
            "pace": self.pace,
            "gain_db": self.gain_db,
        }
        return params | self.options.cache_params()


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


def parse_voice(path: Path) -> VoiceProfile:
    doc = read_toml(path, VoiceError, lead="can't read voice profile")
    for key in ("name", "engine", "language"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise VoiceError(f"{path}: {key}: needs a non-empty string")
    engine = doc["engine"]
    if engine not in REGISTRY:
        raise VoiceError(
            f"{path}: engine: {engine!r} is unknown{did_you_mean(engine, REGISTRY)}; "
            f"valid: {', '.join(REGISTRY)}"
        )
    entry = REGISTRY[engine]
    keys = COMMON_KEYS + entry.options.KEYS
    for key in doc:
        if key not in keys:
            raise VoiceError(
                f"{path}: {key}: unknown key for a {engine} voice{did_you_mean(key, keys)}; "
                f"valid keys: {', '.join(keys)}"
            )
    description, fallback = string(path, doc, "description"), string(path, doc, "fallback")
    if fallback == doc["name"]:
        raise VoiceError(f"{path}: fallback: a voice can't fall back to itself")
    pace = number(path, doc, "pace", 1.0, 0.5, 2.0)
    gain_db = number(path, doc, "gain_db", 0.0, -30, 10)
    return VoiceProfile(
        name=doc["name"],
        engine=engine,
        language=doc["language"],
        description=description,
        pace=pace,
        gain_db=gain_db,
        fallback=fallback,
        options=entry.options.parse(path, doc),
        source=path,
    )
