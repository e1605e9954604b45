"""Recorded voice packs: a person's own recordings, one audio file per line id.

The engine that plays them back is engines/recorded.py; this module reads packs and writes
the recording script a speaker reads from.

A pack is a folder with `pack.toml` and the audio files it names (wav, flac, mp3, m4a, ogg;
decoded by ffmpeg). `recording_script` turns a routine into the list a speaker reads from.

    [pack]
    language = "en"
    gain_db = 0.0          # the whole pack, on top of the voice's level
    trim = true            # cut leading/trailing silence to pmr's fixed pad

    [lines]
    "welcome.hello" = "hello.wav"
    "left-hand.tense" = { file = "lh-tense.flac", gain_db = 1.5, trim = false }
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import VoiceError
from ..template import Line, Pause, Script
from ..template.tomlfile import read_toml

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".ogg")
PACK_KEYS = ("language", "gain_db", "trim", "speaker")
LINE_KEYS = ("file", "gain_db", "trim")


@dataclass(frozen=True)
class Recording:
    line_id: str
    path: Path
    gain_db: float
    trim: bool


@dataclass(frozen=True)
class Pack:
    folder: Path
    language: str
    recordings: dict[str, Recording]


def load_pack(folder: Path) -> Pack:
    """Read and validate pack.toml; every problem names the file and key."""
    manifest = folder / "pack.toml"
    doc = read_toml(
        manifest, VoiceError, missing="no such file; a recorded voice pack needs one",
        lead="can't read the pack",
    )  # fmt: skip
    for key in doc:
        if key not in ("pack", "lines"):
            raise VoiceError(f"{manifest}: {key}: unknown table; valid: pack, lines")
    head = _table(manifest, doc, "pack")
    for key in head:
        if key not in PACK_KEYS:
            raise VoiceError(f"{manifest}: pack.{key}: unknown key; valid: {', '.join(PACK_KEYS)}")
    pack_gain = _gain(manifest, "pack.gain_db", head.get("gain_db", 0.0))
    pack_trim = _bool(manifest, "pack.trim", head.get("trim", True))
    recordings: dict[str, Recording] = {}
    for line_id, spec in _table(manifest, doc, "lines").items():
        where = f"lines.{line_id!r}"
        if isinstance(spec, str):
            spec = {"file": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
            raise VoiceError(
                f"{manifest}: {where}: give a file name or {{ file = ..., gain_db = ... }}"
            )
        for key in spec:
            if key not in LINE_KEYS:
                raise VoiceError(
                    f"{manifest}: {where}.{key}: unknown key; valid: {', '.join(LINE_KEYS)}"
                )
        path = (folder / spec["file"]).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise VoiceError(
                f"{manifest}: {where}.file: {spec['file']!r} is outside the pack folder "
                f"{folder}; recordings must live inside it"
            )
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            raise VoiceError(
                f"{manifest}: {where}.file: {spec['file']!r} is not a supported audio file; "
                f"valid: {', '.join(AUDIO_SUFFIXES)}"
            )
        recordings[line_id] = Recording(
            line_id,
            path,
            pack_gain + _gain(manifest, f"{where}.gain_db", spec.get("gain_db", 0.0)),
            _bool(manifest, f"{where}.trim", spec.get("trim", pack_trim)),
        )
    return Pack(folder, str(head.get("language", "")), recordings)


def _table(manifest: Path, doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise VoiceError(f"{manifest}: {key}: must be a table ([{key}])")
    return value


def _gain(manifest: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not -30 <= value <= 10:
        raise VoiceError(f"{manifest}: {where}: {value!r} must be a number from -30 to 10 dB")
    return float(value)


def _bool(manifest: Path, where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise VoiceError(f"{manifest}: {where}: {value!r} must be true or false")
    return value


@dataclass(frozen=True)
class ScriptRow:
    line_id: str
    text: str
    direction: str


def recording_script(script: Script) -> list[ScriptRow]:
    """Every line to record, in order, with a short direction for the speaker."""
    rows: list[ScriptRow] = []
    for section in script.sections:
        steps = section.steps
        for index, step in enumerate(steps):
            if not isinstance(step, Line):
                continue
            follow = next((s for s in steps[index + 1 :] if not isinstance(s, Line)), None)
            rows.append(ScriptRow(step.id, step.text, _direction(section.title, step, follow)))
    return rows


def _direction(title: str, line: Line, follow: object) -> str:
    kind = line.id.rsplit(".", 1)[-1]
    tone = {
        "tense": "clear and steady, an instruction",
        "release": "soft and slow, letting go",
    }.get(kind, "calm and even")
    after = ""
    if isinstance(follow, Pause):
        after = (
            f"; {follow.min_s:g} s of silence follows"
            if follow.fixed
            else "; a long pause follows"
            if follow.default_s >= 5
            else "; a short pause follows"
        )
    return f"{title}: {tone}{after}"


def script_csv(rows: list[ScriptRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line_id", "text", "direction", "file"])
    for row in rows:
        writer.writerow([row.line_id, row.text, row.direction, f"{row.line_id}.wav"])
    return out.getvalue()


def script_markdown(script: Script, rows: list[ScriptRow]) -> str:
    """A printable script; the suggested file names match the pack.toml `pmr` can start."""
    out = [
        f"# Recording script: {script.title}",
        "",
        f"Routine `{script.name}`, language `{script.language}`, {len(rows)} lines. Record each "
        "line as its own file (a quiet room, the same distance from the microphone, a second "
        "of silence before and after is fine: pmr trims it). Name files as suggested, or map "
        "them in `pack.toml`.",
        "",
        "| # | line id | say | direction | file |",
        "|---|---|---|---|---|",
    ]
    for number, row in enumerate(rows, start=1):
        text = row.text.replace("|", "\\|")
        out.append(f"| {number} | `{row.line_id}` | {text} | {row.direction} | "
                   f"`{row.line_id}.wav` |")  # fmt: skip
    out += ["", "pack.toml:", "", "```toml", "[pack]", f'language = "{script.language}"', "",
            "[lines]"]  # fmt: skip
    out += [f'"{row.line_id}" = "{row.line_id}.wav"' for row in rows]
    out += ["```", ""]
    return "\n".join(out)
