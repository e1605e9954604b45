"""One line spoken phrase by phrase: each phrase synthesized and cached on its own, then joined.

The join puts exactly the phrasing's pause between the voiced frames of two phrases (each
phrase clip keeps the fixed CLIP_PAD_S of silence on both sides, so the gap between them is
the pause less two pads). The joined line is peak-normalized once, so the phrases keep the
levels the engine gave them relative to each other. Engines that are not `phrased` (recorded
takes) are spoken whole, as recorded.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..dsp import normalize_peak, resample, trim_silence
from ..errors import VoiceError
from ..tuning import CLIP_PAD_S, CLIP_SILENCE_DBFS, VOICE_PEAK_DBFS
from .cache import ClipCache
from .engines import Engine
from .phrases import Phrasing, phrases
from .profiles import VoiceProfile

PHRASE_KEY_PREFIX = "phrase: "  # a phrase's cache text, apart from any whole line's


@dataclass(frozen=True)
class Spoken:
    clip: np.ndarray  # the finished line: mono float32 at the session rate
    phrases_made: int  # phrases the engine synthesized for it (0: all from the cache)
    speech_frames: int  # frames of those new phrases


@dataclass
class PhraseLocks:
    """One lock per phrase key: lines spoken at once in threads that share a phrase ("Hold.")
    synthesize it once; the second waits and finds it in the cache."""

    _locks: defaultdict[str, threading.Lock] = field(
        default_factory=lambda: defaultdict(threading.Lock)
    )
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks[key]


def is_phrased(engine: Engine) -> bool:
    return getattr(engine, "phrased", True)


def paced(voice: VoiceProfile, pace: float) -> VoiceProfile:
    """The profile its engine is driven with: its own pace x the routine's (recordings keep
    theirs: a take is played as recorded)."""
    if pace == 1.0 or voice.engine == "recorded":
        return voice
    return dataclasses.replace(voice, pace=round(voice.pace * pace, 4))


def line_key(
    cache: ClipCache, engine: Engine, voice: VoiceProfile, text: str, line_id: str,
    phrasing: Phrasing, rate_hz: int,
) -> str:  # fmt: skip
    """A whole line's cache key (narrate and `pmr plan` look clips up by it)."""
    return cache.key(
        voice.name,
        line_cache_text(engine, text, line_id, phrasing),
        voice.cache_params(),
        engine.version(),
        rate_hz,
    )


def line_cache_text(engine: Engine, text: str, line_id: str, phrasing: Phrasing) -> str:
    """What a whole line's cache key hashes: its text and the phrasing that joined it."""
    own = engine.cache_text(text, line_id)
    return f"{own}\n{phrasing.key()}" if is_phrased(engine) else own


def speak_line(
    engine: Engine,
    voice: VoiceProfile,
    text: str,
    line_id: str,
    rate_hz: int,
    cache: ClipCache,
    phrasing: Phrasing,
    locks: PhraseLocks | None = None,
) -> Spoken:
    """The line's finished clip, from cached phrases where they exist."""
    gain_db = VOICE_PEAK_DBFS + voice.gain_db
    if not is_phrased(engine):
        raw = engine.synthesize(text, line_id)
        clip = _finish(voice, raw.samples, raw.rate_hz, raw.trim, rate_hz, text)
        return Spoken(normalize_peak(clip, gain_db + raw.gain_db), 1, clip.shape[0])
    params, version = voice.cache_params(), engine.version()
    parts: list[np.ndarray] = []
    made = frames = 0
    pad = round(CLIP_PAD_S * rate_hz)
    for phrase in phrases(text, phrasing, getattr(engine, "max_phrase_chars", None)):
        key = cache.key(voice.name, PHRASE_KEY_PREFIX + phrase.text, params, version, rate_hz)
        with (locks or PhraseLocks())(key):
            clip, _corrupt = cache.lookup(key)  # a corrupt phrase is simply made again
            if clip is None:
                raw = engine.synthesize(phrase.text, line_id)
                clip = _finish(voice, raw.samples, raw.rate_hz, raw.trim, rate_hz, phrase.text)
                cache.put(key, clip)
                made, frames = made + 1, frames + clip.shape[0]
        parts.append(np.asarray(clip, dtype=np.float32))
        if phrase.pause_after_s > 0:
            gap = max(0, round(phrase.pause_after_s * rate_hz) - 2 * pad)
            parts.append(np.zeros(gap, dtype=np.float32))
    return Spoken(normalize_peak(np.concatenate(parts), gain_db), made, frames)


def _finish(
    voice: VoiceProfile, samples: np.ndarray, src_hz: int, trim: bool, rate_hz: int, text: str
) -> np.ndarray:
    """Session rate and the exact silence pad; silence from the engine is an error."""
    clip = resample(samples, src_hz, rate_hz)
    if trim:
        clip = trim_silence(clip, rate_hz, CLIP_SILENCE_DBFS, CLIP_PAD_S)
    if clip.size == 0 or not np.any(clip):
        raise VoiceError(f"voice {voice.name}: the engine returned silence for {text!r}")
    return clip.astype(np.float32)
