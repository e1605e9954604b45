"""Sums of sines at absolute frame positions: the tonal beds (pad, binaural beats).

Each ear is Im(sum_k c_k exp(i (2 pi f_k t / rate + phase_k))) for a complex weight c_k per
sine and ear: exact phase for hours, the same in any blocks. Frames are cut at absolute
multiples of TONE_SUB_BLOCK; in the sub-block from frame q, sine k is exp(i w_k j) (j <
TONE_SUB_BLOCK, one cached float32 table of every sine's sin and cos) turned by its phase at q,
computed from exact cycles modulo 1. So a block is a matrix product: the table (frame, sin|cos
of each sine) times the turned weights (sin|cos of each sine, sub-block and ear), since
Im(a e^{ix}) = Re(a) sin x + Im(a) cos x. Arrays out are (frames, 2) float32.
"""

from __future__ import annotations

from functools import cache

import numpy as np

BINAURAL_CARRIER_HZ = 200.0
TONE_SUB_BLOCK = 256  # frames of the cached sine table (it stays in a core's cache)
# OpenBLAS runs a matrix product of at most 2^18 multiply-adds on the calling thread; a larger
# one wakes its threads, which on a loaded 2-core machine spin for 9x the CPU (measured): the
# sines are multiplied in products of at most this size
BLAS_SERIAL_MNK = 1 << 18

Sine = tuple[float, float, complex, complex]  # Hz, phase (radians), left and right weights

# A soft A-major chord over three octaves, each partial swelling on its own slow cycle (16 to
# 40 s, slower than a breath) so the bed breathes instead of droning. Mono-safe: both ears play
# the same frequency, the right a fixed fraction of a cycle later (at most a quarter), so
# (L+R)/2 keeps a steady level on a phone or a mono speaker instead of beating to silence. Its
# upper partials (330-880 Hz) carry about a tenth of its energy, which is what a phone speaker
# can play; weights fall with height, so it stays a soft, dark chord under the voice.
PAD_PARTIALS = (  # Hz, weight, swell Hz, right ear's delay in cycles
    (110.0, 1.0, 0.050, 0.05),
    (164.81, 0.7, 0.037, 0.12),
    (220.0, 0.5, 0.061, 0.20),
    (277.18, 0.35, 0.043, 0.25),
    (329.63, 0.28, 0.029, 0.15),
    (440.0, 0.3, 0.033, 0.22),
    (554.37, 0.22, 0.047, 0.10),
    (659.26, 0.17, 0.026, 0.25),
    (880.0, 0.1, 0.039, 0.18),
)


def pad_sines() -> list[Sine]:
    """Partial k (phase k) swells as w (0.6 + 0.4 sin(2 pi s t + k)); as sines that is 0.6 w
    at f, -0.2i w at f + s (phase 2k) and 0.2i w at f - s (phase 0). The right ear is the
    same, `delay` cycles later."""
    sines = []
    for index, (freq, weight, swell_hz, delay) in enumerate(PAD_PARTIALS):
        later = complex(np.exp(2j * np.pi * delay))
        for hz, phase, share in (
            (freq, index, 0.6 * weight),
            (freq + swell_hz, 2 * index, -0.2j * weight),
            (freq - swell_hz, 0, 0.2j * weight),
        ):
            sines.append((hz, float(phase), complex(share), share * later))
    return sines


def binaural_sines(beat_hz: float) -> list[Sine]:
    """Carrier -/+ beat/2 in the left/right ear: the brain hears the difference as a slow beat
    (only meaningful in stereo on headphones)."""
    low, high = BINAURAL_CARRIER_HZ - beat_hz / 2, BINAURAL_CARRIER_HZ + beat_hz / 2
    return [(low, 0.0, 1, 0), (high, 0.0, 0, 1)]


class SineBank:
    """(n, 2) float32 frames [start, start + n) of a sum of sines, from absolute positions."""

    def __init__(self, sines: list[Sine], rate_hz: int) -> None:
        self.rate_hz = rate_hz
        self.freqs = np.array([s[0] for s in sines], dtype=np.float64)
        self.phases = np.array([s[1] for s in sines], dtype=np.float64)
        self.weights = np.array([s[2:4] for s in sines], dtype=np.complex128)  # (sines, ears)
        self.table = _sine_table(tuple(self.freqs.tolist()), rate_hz)
        self._steps = np.ones((0, self.freqs.size, 1), dtype=np.complex128)

    def block(self, start: int, n: int) -> np.ndarray:
        size, sines = TONE_SUB_BLOCK, self.freqs.size
        first = start // size
        count = (start + n - 1) // size - first + 1
        turned = self._turned(first * size, count)  # (sub-block, sine, ear)
        weights = np.empty((2 * sines, count, 2), dtype=np.float32)
        weights[:sines] = turned.real.transpose(1, 0, 2)
        weights[sines:] = turned.imag.transpose(1, 0, 2)
        weights = weights.reshape(2 * sines, 2 * count)
        pairs = np.empty((count, size), dtype=np.complex64)  # (left, right) per frame
        group = max(1, BLAS_SERIAL_MNK // (self.table.size * 2))
        for g in range(0, count, group):
            product = self.table @ weights[:, 2 * g : 2 * (g + group)]
            pairs[g : g + group] = product.view(np.complex64).T  # ears side by side, in order
        frames = pairs.view(np.float32).reshape(-1, 2)
        offset = start - first * size
        return frames[offset : offset + n]

    def _turned(self, origin: int, count: int) -> np.ndarray:
        """(count, sines, ears) weights turned by exp(i (2 pi f q / rate + phase)) at the
        origins q of `count` sub-blocks from frame `origin`: the first from its exact cycles
        modulo 1, the others turned from it by a cached exp(i w m TONE_SUB_BLOCK), also from
        exact cycles."""
        if self._steps.shape[0] < count:
            m = np.arange(max(count, 2 * self._steps.shape[0]), dtype=np.int64)[:, None]
            cycles = m * TONE_SUB_BLOCK * self.freqs / self.rate_hz % 1.0
            self._steps = np.exp(2j * np.pi * cycles)[:, :, None]
        cycles = origin * self.freqs / self.rate_hz % 1.0
        base = np.exp(1j * (2 * np.pi * cycles + self.phases))[:, None] * self.weights
        return self._steps[:count] * base


@cache
def _sine_table(freqs: tuple[float, ...], rate_hz: int) -> np.ndarray:
    """(TONE_SUB_BLOCK, 2 * sines) float32, read-only: sin(w_k j) of every sine, then cos."""
    angle = np.outer(np.arange(TONE_SUB_BLOCK), 2 * np.pi * np.array(freqs) / rate_hz)
    table = np.concatenate([np.sin(angle), np.cos(angle)], axis=1).astype(np.float32)
    table.flags.writeable = False
    return table
