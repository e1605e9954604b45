"""Which variants need building: each output is keyed by a hash of everything that shapes it.

The key covers the expanded routine (every line, pause and cue, title and description), the
voice profile and its engine's version, the build options, the contents of a background file,
the pmr version, a digest of pmr's audio code and the ffmpeg binary. The key is written after a
successful build to a small stamp beside the output (`.NAME.mp3.pmr.json`), with the output's
size and mtime, so an unchanged variant is recognised from two stats and one small read,
without decoding anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import PmrError
from ..files import sha256_file_cached, write_atomic
from ..narration import VoiceProfile, load_voice
from ..publish import sidecar_paths
from ..template import Script, load_script
from .matrix import Variant

STAMP_SUFFIX = ".pmr.json"
# Modules that don't shape the audio: editing them doesn't rebuild outputs.
_NOT_AUDIO = ("cli.py", "batch")


@dataclass(frozen=True)
class Assessed:
    variant: Variant
    key: str  # sha256 hex of everything that shapes the output
    script: Script
    voice: VoiceProfile
    up_to_date: bool


def assess(variants: Sequence[Variant], force: bool = False) -> tuple[Assessed, ...]:
    """Key every variant and compare with its stamp. Reads templates, profiles and background
    files once each; never imports an engine or touches audio."""
    scripts = {r: load_script(r) for r in dict.fromkeys(v.routine for v in variants)}
    voices = {n: load_voice(n) for n in dict.fromkeys(v.voice for v in variants)}
    scripts_text = {r: repr(script) for r, script in scripts.items()}
    voices_material = {n: voice_material(voice) for n, voice in voices.items()}
    assessed = []
    for variant in variants:
        script, voice = scripts[variant.routine], voices[variant.voice]
        key = variant_key(variant, scripts_text[variant.routine], voices_material[variant.voice])
        fresh = not force and stamp_matches(variant.out, key)
        assessed.append(Assessed(variant, key, script, voice, fresh))
    return tuple(assessed)


def variant_key(variant: Variant, script_text: str, voice: dict[str, Any]) -> str:
    """sha256 hex over the expanded routine (`repr` of its Script), the voice material, the
    length, background and options, the pmr version and the code digest."""
    material = {
        "pmr": __version__,
        "code": code_digest(),
        "encoder": encoder_identity(),
        "script": script_text,
        "voice": voice,
        "minutes": variant.minutes,
        "background": _background_material(variant.background),
        "options": [[k, repr(v)] for k, v in variant.options],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def stamp_path(out: Path) -> Path:
    return out.with_name(f".{out.name}{STAMP_SUFFIX}")


def stamp_matches(out: Path, key: str) -> bool:
    """True when the output is there, unchanged since the stamp was written, with this key,
    and so are the sidecar files that were written with it."""
    try:
        stamp = json.loads(stamp_path(out).read_text(encoding="utf-8"))
        info = out.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("key") == key
        and stamp.get("size") == info.st_size
        and stamp.get("mtime_ns") == info.st_mtime_ns
        and all((out.parent / str(name)).is_file() for name in stamp.get("sidecars", []))
    )


def write_stamp(out: Path, key: str, variant: Variant) -> None:
    """Record a finished output; temp file + rename, like every other write."""
    info = out.stat()
    record = {
        "key": key,
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "pmr": __version__,
        "routine": variant.routine,
        "minutes": variant.minutes,
        "voice": variant.voice,
        "background": variant.background,
        "options": dict(variant.options),
        # transcripts, chapters, manifest: a deleted one makes the variant stale
        "sidecars": sorted(p.name for p in sidecar_paths(out).values() if p.is_file()),
    }
    write_atomic(stamp_path(out), json.dumps(record, indent=1, sort_keys=True, default=str))


@cache
def code_digest() -> str:
    """sha256 of pmr's audio-shaping source files, so a code change rebuilds even when the
    version number didn't move (a development checkout)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in _NOT_AUDIO:
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def encoder_identity() -> str:
    """The ffmpeg binary's path, size and mtime: an upgraded encoder re-encodes (a stat, not a
    subprocess, so planning stays fast)."""
    from ..encode import ffmpeg_exe

    try:
        path = Path(ffmpeg_exe()).resolve()
        info = path.stat()
    except (PmrError, OSError):
        return "ffmpeg not found"  # the build will say so, per variant
    return f"{path} {info.st_size} {info.st_mtime_ns}"


def voice_material(voice: VoiceProfile) -> dict[str, Any]:
    """Every field that compares (all but the file it came from) and the engine's version."""
    fields = {f.name: getattr(voice, f.name) for f in dataclasses.fields(voice) if f.compare}
    return {"profile": repr(fields), "engine": _engine_version(voice)}


def _engine_version(voice: VoiceProfile) -> str:
    """The engine's version string (a new release re-synthesizes, so it re-renders too)."""
    from ..narration.engines import engine_for

    try:
        return engine_for(voice).version()
    except Exception as exc:  # an engine that can't say; its name still goes into the key
        return f"{voice.engine} (version unknown: {type(exc).__name__})"


def _background_material(background: str) -> str:
    path = Path(background)
    if not path.is_file():
        return background
    return f"file sha256 {sha256_file_cached(str(path.resolve()), path.stat().st_mtime_ns)}"
