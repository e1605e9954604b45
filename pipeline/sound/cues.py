"""Synthesized cues: a bell for start, end and section changes; soft tones for tense/release.

Each cue is a short mono float32 array with a soft attack and a smooth close (no click),
normalized to peak 1; the mixer sets its loudness relative to the voice.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..tuning import CHIME_S

# name -> (partials (Hz, weight, decay s), length s)
_BELLS = {
    "chime": (
        ((528.0, 1.0, 1.1), (1056.0 * 1.002, 0.4, 0.7), (1584.0 * 0.997, 0.2, 0.45),
         (2640.0, 0.08, 0.3)),
        CHIME_S,
    ),
    # a smaller, higher bell for section changes: shorter, so it rarely meets the next line
    "section": (
        ((792.0, 1.0, 0.6), (1584.0 * 1.003, 0.3, 0.4), (2376.0 * 0.996, 0.12, 0.25)),
        2.0,
    ),
}  # fmt: skip
# name -> (start Hz, end Hz, length s): a rising tone to tense, a falling one to release
_TONES = {"tense": (392.0, 523.25, 0.9), "release": (523.25, 329.63, 1.6)}


@cache
def cue(name: str, rate_hz: int) -> np.ndarray:
    """The cue's samples (mono float32, peak 1); read-only, shared between calls."""
    if name in _BELLS:
        partials, seconds = _BELLS[name]
        out = _bell(partials, seconds, rate_hz)
    else:
        out = _glide(*_TONES[name], rate_hz)
    out.setflags(write=False)
    return out


def _bell(partials: tuple[tuple[float, float, float], ...], seconds: float, rate_hz: int):
    """Additive inharmonic partials with exponential decay, a 5 ms attack and a 50 ms close."""
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    bell = sum(w * np.exp(-t / decay) * np.sin(2 * np.pi * f * t) for f, w, decay in partials)
    bell = bell * np.clip(t / 0.005, 0.0, 1.0) * np.clip((seconds - t) / 0.05, 0.0, 1.0)
    return (bell / np.max(np.abs(bell))).astype(np.float32)


def _glide(start_hz: float, end_hz: float, seconds: float, rate_hz: int) -> np.ndarray:
    """A sine gliding between two pitches under a raised-cosine (Hann) envelope."""
    n = round(seconds * rate_hz)
    t = np.arange(n) / rate_hz
    freq = start_hz * (end_hz / start_hz) ** (t / seconds)  # exponential glide
    phase = 2 * np.pi * np.cumsum(freq) / rate_hz
    tone = np.sin(phase) + 0.2 * np.sin(2 * phase)  # a touch of octave: softer than a pure sine
    envelope = np.sin(np.pi * np.arange(n) / (n - 1)) ** 2
    out = tone * envelope
    return (out / np.max(np.abs(out))).astype(np.float32)
