"""Script + voice profile -> narration clips, each synthesized once and cached."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dsp import normalize_peak, resample, trim_silence
from ..errors import VoiceError
from ..template import Script
from ..tuning import CLIP_PAD_S, CLIP_SILENCE_DBFS, VOICE_PEAK_DBFS
from .cache import ClipCache, default_cache_dir
from .engines import Engine, engine_for
from .profiles import VoiceProfile, available_voices, load_voice

__all__ = [
    "ClipCache",
    "Clips",
    "VoiceProfile",
    "available_voices",
    "default_cache_dir",
    "load_voice",
    "narrate",
]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Clips:
    """Narration ready to place: per line id, its cached file and its length in frames."""

    rate_hz: int
    paths: Mapping[str, Path]
    frames: Mapping[str, int]
    synthesized: int  # clips made by this call; 0 when the cache was warm

    def load(self, line_id: str) -> np.ndarray:
        return np.load(self.paths[line_id], mmap_mode="r")


def narrate(
    script: Script,
    voice: VoiceProfile,
    cache: ClipCache,
    rate_hz: int,
    on_progress: Progress | None = None,
) -> Clips:
    if voice.language.split("-")[0] != script.language.split("-")[0]:
        raise VoiceError(
            f"voice {voice.name} speaks {voice.language!r} but routine {script.name} is in "
            f"{script.language!r}; choose a voice for {script.language!r}"
        )
    engine = engine_for(voice)
    params, version = voice.cache_params(), engine.version()
    lines = list(script.lines())
    keys = {line.id: cache.key(voice.name, line.text, params, version, rate_hz) for line in lines}
    texts = {keys[line.id]: line.text for line in lines}
    frames: dict[str, int] = {}
    made = 0
    for done, (key, text) in enumerate(texts.items(), start=1):
        clip = cache.get(key)
        if clip is None:
            clip = _speak(engine, voice, text, rate_hz)
            cache.put(key, clip)
            made += 1
        frames[key] = int(clip.shape[0])
        if on_progress:
            on_progress("narrating", done, len(texts))
    return Clips(
        rate_hz=rate_hz,
        paths={line_id: cache.path(key) for line_id, key in keys.items()},
        frames={line_id: frames[key] for line_id, key in keys.items()},
        synthesized=made,
    )


def _speak(engine: Engine, voice: VoiceProfile, text: str, rate_hz: int) -> np.ndarray:
    """Synthesize and finish one clip: session rate, exact silence pad, consistent peak."""
    raw = engine.synthesize(text)
    clip = resample(raw.samples, raw.rate_hz, rate_hz)
    clip = trim_silence(clip, rate_hz, CLIP_SILENCE_DBFS, CLIP_PAD_S)
    if clip.size == 0:
        raise VoiceError(f"voice {voice.name}: the engine returned silence for {text!r}")
    return normalize_peak(clip, VOICE_PEAK_DBFS + voice.gain_db)
