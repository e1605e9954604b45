"""The bed's gain over time: ducked under every spoken line, faded in and out at the ends.

One formula, read two ways: block by block by the renderer (`bed_block_envelope`, None where
it is 1 throughout) and every 10 ms by the mix plan, which predicts the bed's loudness through
it. Each line touches only the frames within a ramp of it, and the ramps are computed only
where they run, so a block costs what its ramps cost, not what its length does.
"""

from __future__ import annotations

import numpy as np

from ..dsp import db_to_gain
from ..fit import Timeline
from ..tuning import BED_DUCK_DB, DUCK_RAMP_S, FADE_IN_S, FADE_OUT_S


def speech_spans(timeline: Timeline) -> np.ndarray:
    """(start, end) frames of every spoken line, shape (lines, 2)."""
    spans = [(e.start, e.end) for e in timeline.of_kind("line")]
    return np.array(spans, dtype=np.int64).reshape(-1, 2)


def bed_envelope(
    frames: np.ndarray, speech: np.ndarray, total: int, rate: int, fade_out_s: float = FADE_OUT_S
) -> np.ndarray:
    """The bed's gain (linear, 0..1) at `frames` (increasing): ducked under speech, faded at
    both ends."""
    duck = _duck(frames, speech, rate)
    if _fading(frames, total, rate, fade_out_s):  # (else the fades are 1: no product needed)
        duck *= _fades(frames, total, rate, fade_out_s)
    return duck


def bed_block_envelope(
    start: int, n: int, speech: np.ndarray, total: int, rate: int, fade_out_s: float = FADE_OUT_S
) -> np.ndarray | None:
    """`bed_envelope` over frames [start, start + n), or None where it is 1 throughout (no
    line near, no fade): a renderer's block then needs no per-frame gain."""
    ramp = max(1, round(DUCK_RAMP_S * rate))
    last = start + n - 1
    near = (speech[:, 1] > start - ramp) & (speech[:, 0] < last + ramp)
    if not near.any() and start >= FADE_IN_S * rate and last <= total - fade_out_s * rate:
        return None
    return bed_envelope(np.arange(start, start + n, dtype=np.int64), speech, total, rate,
                        fade_out_s)  # fmt: skip


def _duck(frames: np.ndarray, speech: np.ndarray, rate: int) -> np.ndarray:
    """Bed gain: 1 in pauses, BED_DUCK_DB under speech, with linear ramps either side. Each
    line touches only the frames within a ramp of it (found by bisection: `frames` increase):
    fully down from its first frame to its last, and the ramps computed only where they run."""
    ramp = max(1, round(DUCK_RAMP_S * rate))
    lo, hi = frames[0] - ramp, frames[-1] + ramp
    near = speech[(speech[:, 1] >= lo) & (speech[:, 0] <= hi)]
    depth = np.zeros(frames.size, dtype=np.float64)
    if not near.size:
        return _ducked(depth)
    edges = near + np.array([-ramp, ramp])  # where the ramps start and end
    rises = np.searchsorted(frames, edges[:, 0], side="right")
    downs = np.searchsorted(frames, near[:, 0], side="left")
    ups = np.searchsorted(frames, near[:, 1], side="right")
    ends = np.searchsorted(frames, edges[:, 1], side="left")
    for (begin, finish), a, b, c, d in zip(edges, rises, downs, ups, ends, strict=True):
        depth[b:c] = 1.0  # under the line: the deepest any line can go
        if a < b:  # in the ramp before it: (frame - begin) / ramp, in (0, 1)
            np.maximum(depth[a:b], (frames[a:b] - begin) / ramp, out=depth[a:b])
        if c < d:  # and after it
            np.maximum(depth[c:d], (finish - frames[c:d]) / ramp, out=depth[c:d])
    return _ducked(depth)


def _ducked(depth: np.ndarray) -> np.ndarray:
    """1 - (1 - duck gain) * depth, in place (the same bits: a - b is a + -b, and -(x * y) is
    x * -y): one block-long array less to allocate and fault in per block."""
    np.multiply(depth, -(1.0 - db_to_gain(BED_DUCK_DB)), out=depth)
    depth += 1.0
    return depth


def _fading(frames: np.ndarray, total: int, rate: int, fade_out_s: float) -> bool:
    """Whether any of `frames` (increasing) lies in the fade in or the fade out."""
    return bool(frames[0] < FADE_IN_S * rate or frames[-1] > total - fade_out_s * rate)


def _fades(frames: np.ndarray, total: int, rate: int, fade_out_s: float) -> np.ndarray:
    """Equal-power fade in at the start and out over the last `fade_out_s` seconds."""
    if not _fading(frames, total, rate, fade_out_s):
        return np.ones(frames.size)
    fade_in = np.clip(frames / (FADE_IN_S * rate), 0.0, 1.0)
    fade_out = np.clip((total - frames) / (fade_out_s * rate), 0.0, 1.0)
    return np.sin(0.5 * np.pi * np.minimum(fade_in, fade_out))
