"""Loudness (ITU-R BS.1770-4) and true peak of short in-memory signals, and a peak limiter.

Used on things that are seconds long and already in memory (narration clips, one bed
calibration stretch, a cue), never on the session: the session's loudness is predicted from
these figures and the timeline, then metered as it is rendered (sound/meter.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np

from .filters import OverlapAdd, biquad, convolve, kernel, upsample, window_min

ABSOLUTE_GATE_LUFS = -70.0  # BS.1770-4, 2.8
RELATIVE_GATE_LU = -10.0
BLOCK_S = 0.4  # gating block, 75 % overlap
STEP_S = 0.1
OVERSAMPLE = 4  # true peak per BS.1770-4 Annex 2: at least 4x at 48 kHz
SILENT_LUFS = -120.0  # stands for "no gated block" so arithmetic stays finite


@dataclass(frozen=True)
class Loudness:
    """Integrated loudness (LUFS), true peak (dBTP) and how many 400 ms blocks passed the
    gates: the weight of this signal when it is one part of a longer programme."""

    lufs: float
    true_peak_db: float
    blocks: int


@cache
def _k_weighting(rate_hz: int) -> np.ndarray:
    """The BS.1770 K-weighting (high shelf + RLB high-pass) as an FIR kernel for any rate.

    The biquads are designed from their analog prototypes (shelf +4 dB at 1.5 kHz, Q 0.707;
    high-pass 38 Hz, Q 0.5) the way pyloudnorm does, within 0.05 dB of the standard's 48 kHz
    coefficients; the kernel is their impulse response (decayed by 100 ms)."""
    sections = (
        biquad("highshelf", 1500.0, 1 / math.sqrt(2), rate_hz, gain_db=4.0),
        biquad("highpass", 38.0, 0.5, rate_hz),
    )
    return kernel(sections, round(0.1 * rate_hz))


def block_energies(audio: np.ndarray, rate_hz: int) -> np.ndarray:
    """Mean square of the K-weighted signal per gating block, summed over channels.

    `audio` is mono (n,) or (n, channels) with channel weights 1 (L, R, C)."""
    x = audio.astype(np.float64).reshape(audio.shape[0], -1)
    weighted = convolve(x, _k_weighting(rate_hz))
    block, step = round(BLOCK_S * rate_hz), round(STEP_S * rate_hz)
    if weighted.shape[0] < block:
        return np.zeros(0)
    power = np.concatenate([np.zeros(1), np.cumsum(np.sum(weighted**2, axis=1))])
    starts = np.arange(0, weighted.shape[0] - block + 1, step)
    return (power[starts + block] - power[starts]) / block


def stream_block_energies(chunks: Iterable[np.ndarray], rate_hz: int) -> np.ndarray:
    """`block_energies` of a long signal given in consecutive (n, channels) chunks: the
    K-weighting state carries over and only 100 ms sums are kept, so memory stays small."""
    step, per_block = round(STEP_S * rate_hz), round(BLOCK_S / STEP_S)
    weighting: OverlapAdd | None = None
    carry = np.zeros(0)
    sums: list[np.ndarray] = []
    for chunk in chunks:
        x = chunk.astype(np.float64).reshape(chunk.shape[0], -1)
        if weighting is None:
            weighting = OverlapAdd([_k_weighting(rate_hz)], x.shape[1])
        power = np.concatenate([carry, np.sum(weighting(x)[0] ** 2, axis=1)])
        whole = power.size // step * step
        sums.append(power[:whole].reshape(-1, step).sum(axis=1))
        carry = power[whole:]
    steps = np.concatenate(sums) if sums else np.zeros(0)
    if steps.size < per_block:
        return np.zeros(0)
    window = np.convolve(steps, np.ones(per_block), mode="valid")
    return window / (step * per_block)


def gated_mean(energies: np.ndarray) -> tuple[float, int]:
    """BS.1770-4 two-stage gating: (mean energy of the gated blocks, their number)."""
    floor = 10 ** ((ABSOLUTE_GATE_LUFS + 0.691) / 10)
    kept = energies[energies > floor]
    if kept.size == 0:
        return 0.0, 0
    relative = np.mean(kept) * 10 ** (RELATIVE_GATE_LU / 10)
    kept = kept[kept > relative]
    return float(np.mean(kept)), int(kept.size)


def energy_to_lufs(energy: float) -> float:
    return -0.691 + 10 * math.log10(energy) if energy > 0 else SILENT_LUFS


def true_peak_envelope(audio: np.ndarray) -> np.ndarray:
    """Per-frame true peak (linear): the largest |sample| of a 4x oversampled copy around
    each frame, over all channels. `audio` is mono (n,) or (n, channels)."""
    x = audio.astype(np.float64).reshape(audio.shape[0], -1)
    if x.shape[0] == 0:
        return np.zeros(0)
    up = upsample(x, OVERSAMPLE)
    env = np.abs(up).reshape(x.shape[0], OVERSAMPLE, -1).max(axis=(1, 2))
    return np.maximum(env, np.abs(x).max(axis=1))


def measure(audio: np.ndarray, rate_hz: int) -> Loudness:
    """Integrated loudness, true peak and gated block count of a short signal."""
    energy, blocks = gated_mean(block_energies(audio, rate_hz))
    peak = float(np.max(true_peak_envelope(audio), initial=0.0))
    peak_db = 20 * math.log10(peak) if peak > 0 else SILENT_LUFS
    return Loudness(energy_to_lufs(energy), peak_db, blocks)


def limit(
    audio: np.ndarray,
    ceiling: float,
    rate_hz: int,
    smooth_s: float = 0.004,
    envelope: np.ndarray | None = None,
) -> np.ndarray:
    """A look-ahead peak limiter for a short in-memory signal (mono or (n, channels)).

    The gain each frame needs (ceiling / true peak) is held at its minimum over the next
    2 * smooth_s and then smoothed by two moving averages of smooth_s: the smooth gain can
    only be at or below what every frame needs, so no true peak passes `ceiling` (linear),
    and it moves over ~2 * smooth_s, so there are no clicks. Returns float32.
    `envelope` is `true_peak_envelope(audio)` when the caller has it already.
    """
    env = true_peak_envelope(audio) if envelope is None else envelope
    need = np.minimum(1.0, ceiling / np.maximum(env, 1e-12))
    if need.size == 0 or need.min() >= 1.0:
        return audio.astype(np.float32)
    # the gain is flat for 1 ms either side of a peak, so the interpolated waveform between
    # samples (what a true-peak meter sees) is scaled as much as the samples around it
    guard = max(1, round(0.001 * rate_hz))
    need = window_min(np.concatenate([np.full(guard, need[0]), need]), 2 * guard + 1)[: need.size]
    width = max(1, round(smooth_s * rate_hz))
    span = 2 * width - 1
    # minimum over [n, n + span - 1], then two causal box filters over [n - width + 1, n]
    held = window_min(need, span)
    gain = _moving_mean(_moving_mean(held, width), width)
    gain = np.minimum(gain, 1.0)
    shaped = gain if audio.ndim == 1 else gain[:, None]
    return (audio * shaped).astype(np.float32)


def _moving_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Causal mean of the last `width` values (the signal extends its first value backwards)."""
    padded = np.concatenate([np.full(width, x[0]), x])
    sums = np.cumsum(padded)
    return (sums[width:] - sums[:-width]) / width
