"""Recorded voice packs played back: a person's own take for each line id (see ../recorded.py
for the pack format). `pack` in the profile is the folder of its pack.toml, relative to the
profile's own folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from ...errors import VoiceError
from ...sound.audiofile import to_array, trim
from ...tuning import CLIP_PAD_S, CLIP_SILENCE_DBFS, SAMPLE_RATE_HZ
from ..audio_io import decode_segment
from ..recorded import Pack, load_pack
from .base import Engine, EngineOptions, MissingLines, RawClip, string


@dataclass(frozen=True)
class RecordedOptions(EngineOptions):
    pack: Path = Path()  # the pack folder, resolved

    KEYS: ClassVar[tuple[str, ...]] = ("pack",)

    @classmethod
    def parse(cls, path: Path, doc: dict[str, Any]) -> RecordedOptions:
        pack = string(path, doc, "pack")
        if not pack:
            raise VoiceError(f"{path}: pack: a recorded voice needs the folder of its pack.toml")
        return cls((path.parent / Path(pack).expanduser()).resolve())


class MissingRecordings(MissingLines):
    """Lines of the routine that the pack has no (readable) recording for."""

    def __init__(self, voice: str, pack: Path, missing: list[str]) -> None:
        super().__init__(
            f"voice {voice}: {pack / 'pack.toml'} has no recording for {len(missing)} "
            f"line{'s' * (len(missing) > 1)}: {', '.join(missing)}; record them "
            "(`pmr voices script ROUTINE` lists every line) or build with --fill-missing "
            "to let the voice's fallback speak them",
            missing,
        )


class RecordedEngine(Engine):
    """Plays back a person's recordings; `synthesize` needs the line id, not the text."""

    name = "recorded"
    concurrency = 2  # decoding is an ffmpeg process per line

    def __init__(self, profile) -> None:
        self.profile = profile
        self.options: RecordedOptions = profile.options

    @cached_property
    def pack(self) -> Pack:
        pack = load_pack(self.options.pack)
        if pack.language and pack.language.split("-")[0] != self.profile.language.split("-")[0]:
            raise VoiceError(
                f"{pack.folder / 'pack.toml'}: pack.language: {pack.language!r} but voice "
                f"{self.profile.name} ({self.profile.source}) says {self.profile.language!r}"
            )
        return pack

    def version(self) -> str:
        return "recorded 1"

    def missing(self, line_ids: list[str]) -> MissingLines | None:
        """Every line id without a recording file, all at once."""
        recordings = self.pack.recordings
        absent = [i for i in line_ids if i not in recordings or not recordings[i].path.is_file()]
        return MissingRecordings(self.profile.name, self.pack.folder, absent) if absent else None

    def cache_text(self, text: str, line_id: str) -> str:
        """A recording is identified by its file's content and its settings, not the text."""
        rec = self.pack.recordings[line_id]
        digest = hashlib.sha256(rec.path.read_bytes()).hexdigest()
        return f"{line_id}|{digest}|{rec.gain_db}|{rec.trim}"

    def synthesize(self, text: str, line_id: str = "") -> RawClip:
        if line_id not in self.pack.recordings:
            raise MissingRecordings(self.profile.name, self.pack.folder, [line_id or text])
        rec = self.pack.recordings[line_id]
        take = decode_segment(rec.path, SAMPLE_RATE_HZ, self.profile.pace)
        if rec.trim:  # pydub cuts the take's silence to the fixed pad; the stage need not
            take = trim(take, CLIP_SILENCE_DBFS, CLIP_PAD_S)
        return RawClip(to_array(take), SAMPLE_RATE_HZ, trim=False, gain_db=rec.gain_db)
