"""Timeline + narration + background -> a stream of PCM blocks.

The session is never held whole: `render_blocks` yields (frames, channels) float32 blocks of a
fixed size (the last one shorter), each computed from absolute sample positions, so a block
depends only on its place in the session and memory stays flat however long it is.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .dsp import db_to_gain
from .errors import RenderError
from .fit import Timeline
from .tuning import (
    BED_DUCK_DB,
    BED_LEVEL_DBFS,
    BLOCK_FRAMES,
    CHANNELS,
    CHIME_PEAK_DBFS,
    CHIME_S,
    DUCK_RAMP_S,
    FADE_IN_S,
    FADE_OUT_S,
)

BACKGROUNDS = {
    "pad": "a slowly evolving soft chord (A major, detuned partials)",
    "none": "silence between the words",
}

LoadClip = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class Sound:
    """A mono sound placed at a frame: a narration clip or a cue."""

    start: int
    samples: np.ndarray

    @property
    def end(self) -> int:
        return self.start + self.samples.shape[0]


def render_blocks(
    timeline: Timeline,
    load_clip: LoadClip,
    background: str = "pad",
    block_frames: int = BLOCK_FRAMES,
) -> Iterator[np.ndarray]:
    """Yield the mixed session block by block: narration + cues over a ducked, faded bed."""
    if background not in BACKGROUNDS:
        raise RenderError(f"unknown background {background!r}; valid: {', '.join(BACKGROUNDS)}")
    rate = timeline.rate_hz
    chime = _chime(rate)
    sounds = sorted(
        [Sound(e.start, load_clip(e.ref)) for e in timeline.of_kind("line")]
        + [Sound(e.start, chime) for e in timeline.of_kind("cue")],
        key=lambda s: s.start,
    )
    starts = [s.start for s in sounds]
    longest = max((s.samples.shape[0] for s in sounds), default=0)
    speech = np.array([(e.start, e.end) for e in timeline.of_kind("line")], dtype=np.int64)
    speech = speech.reshape(-1, 2)

    for block_start in range(0, timeline.total, block_frames):
        n = min(block_frames, timeline.total - block_start)
        frames = np.arange(block_start, block_start + n, dtype=np.int64)
        voice = np.zeros(n, dtype=np.float32)
        first = bisect.bisect_left(starts, block_start - longest)
        for sound in sounds[first : bisect.bisect_left(starts, block_start + n)]:
            lo, hi = max(sound.start, block_start), min(sound.end, block_start + n)
            if lo < hi:
                voice[lo - block_start : hi - block_start] += sound.samples[
                    lo - sound.start : hi - sound.start
                ]
        block = np.repeat(voice[:, None], CHANNELS, axis=1)
        if background != "none":
            fade_out_s = timeline.fade_out_s or FADE_OUT_S
            gain = _duck(frames, speech, rate) * _fades(frames, timeline.total, rate, fade_out_s)
            block += _pad(frames, rate) * gain[:, None]
        np.clip(block, -1.0, 1.0, out=block)
        yield block


def _pad(frames: np.ndarray, rate: int) -> np.ndarray:
    """A soft A-major chord: each partial slightly detuned between the ears and slowly
    swelling, so the bed breathes instead of droning. Returns (n, 2) float32 at the bed level."""
    t = frames / rate  # float64 seconds keep phase exact over hours
    partials = (
        (110.0, 1.0, 0.050),
        (164.81, 0.7, 0.037),
        (220.0, 0.5, 0.061),
        (277.18, 0.35, 0.043),
        (329.63, 0.25, 0.029),
    )
    out = np.zeros((frames.size, 2), dtype=np.float64)
    for index, (freq, weight, swell_hz) in enumerate(partials):
        swell = 0.6 + 0.4 * np.sin(2 * np.pi * swell_hz * t + index)
        for channel, detune in enumerate((-0.15, 0.15)):
            out[:, channel] += weight * swell * np.sin(2 * np.pi * (freq + detune) * t + index)
    # Mean square per channel: sum of w^2 * E[swell^2] / 2, with E[swell^2] = 0.6^2 + 0.4^2 / 2.
    norm = np.sqrt(sum(w * w for _, w, _ in partials) * 0.44 / 2)
    return (out * (db_to_gain(BED_LEVEL_DBFS) / norm)).astype(np.float32)


def _duck(frames: np.ndarray, speech: np.ndarray, rate: int) -> np.ndarray:
    """Bed gain: 1 in pauses, BED_DUCK_DB under speech, with linear ramps either side."""
    ramp = max(1, round(DUCK_RAMP_S * rate))
    lo, hi = frames[0] - ramp, frames[-1] + ramp
    near = speech[(speech[:, 1] >= lo) & (speech[:, 0] <= hi)]
    depth = np.zeros(frames.size, dtype=np.float64)
    for start, end in near:
        rise = np.clip((frames - (start - ramp)) / ramp, 0.0, 1.0)
        fall = np.clip(((end + ramp) - frames) / ramp, 0.0, 1.0)
        np.maximum(depth, np.minimum(rise, fall), out=depth)
    return 1.0 - (1.0 - db_to_gain(BED_DUCK_DB)) * depth


def _fades(frames: np.ndarray, total: int, rate: int, fade_out_s: float = FADE_OUT_S) -> np.ndarray:
    """Equal-power fade in at the start and out at the end (`fade_out_s` seconds)."""
    fade_in = np.clip(frames / (FADE_IN_S * rate), 0.0, 1.0)
    fade_out = np.clip((total - frames) / (fade_out_s * rate), 0.0, 1.0)
    return np.sin(0.5 * np.pi * np.minimum(fade_in, fade_out))


def _chime(rate: int) -> np.ndarray:
    """A soft bell: inharmonic partials with exponential decay and a 5 ms attack (no click)."""
    t = np.arange(round(CHIME_S * rate)) / rate
    partials = (
        (528.0, 1.0, 1.1),
        (1056.0 * 1.002, 0.4, 0.7),
        (1584.0 * 0.997, 0.2, 0.45),
        (2640.0, 0.08, 0.3),
    )
    bell = sum(w * np.exp(-t / decay) * np.sin(2 * np.pi * f * t) for f, w, decay in partials)
    bell *= np.clip(t / 0.005, 0.0, 1.0)
    bell *= np.clip((CHIME_S - t) / 0.05, 0.0, 1.0)  # close smoothly at the end
    return (bell / np.max(np.abs(bell)) * db_to_gain(CHIME_PEAK_DBFS)).astype(np.float32)
