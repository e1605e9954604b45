"""Linear filters in numpy alone: biquad designs, FIR kernels from them, FFT convolution.

IIR recursions can't be vectorized in numpy, and scipy.signal costs more to import than a
short build takes to render, so filters here are applied as FIR kernels: the filter's impulse
response, sampled from its exact frequency response and cut where it has decayed below
-100 dB. Streams are filtered by FFT overlap-add that carries the tail from block to block,
so a filtered stream is the same (to float rounding) in any block sizes, with no seams.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

Biquad = tuple[tuple[float, ...], tuple[float, ...]]  # (b coefficients, a coefficients)


def biquad(kind: str, freq_hz: float, q: float, rate_hz: int, gain_db: float = 0.0) -> Biquad:
    """RBJ audio-EQ-cookbook biquads: 'lowpass', 'highpass', 'highshelf', 'peaking' (b, a)."""
    w0 = 2 * math.pi * freq_hz / rate_hz
    cos, alpha = math.cos(w0), math.sin(w0) / (2 * q)
    if kind == "lowpass":
        b = ((1 - cos) / 2, 1 - cos, (1 - cos) / 2)
        a = (1 + alpha, -2 * cos, 1 - alpha)
    elif kind == "highpass":
        b = ((1 + cos) / 2, -(1 + cos), (1 + cos) / 2)
        a = (1 + alpha, -2 * cos, 1 - alpha)
    elif kind == "highshelf":
        g = 10 ** (gain_db / 40)
        root = 2 * math.sqrt(g) * alpha
        b = (
            g * ((g + 1) + (g - 1) * cos + root),
            -2 * g * ((g - 1) + (g + 1) * cos),
            g * ((g + 1) + (g - 1) * cos - root),
        )
        a = (
            (g + 1) - (g - 1) * cos + root,
            2 * ((g - 1) - (g + 1) * cos),
            (g + 1) - (g - 1) * cos - root,
        )
    elif kind == "peaking":
        g = 10 ** (gain_db / 40)
        b = (1 + alpha * g, -2 * cos, 1 - alpha * g)
        a = (1 + alpha / g, -2 * cos, 1 - alpha / g)
    else:
        raise ValueError(f"unknown biquad kind {kind!r}")
    return b, a


def kernel(sections: tuple[Biquad, ...], length: int) -> np.ndarray:
    """The first `length` samples of the cascade's impulse response, from its frequency
    response on a grid 8x longer (so time aliasing is negligible), faded over its last 10 %."""
    n_fft = 1 << max(12, (8 * length - 1).bit_length())
    z = np.exp(-1j * np.pi * np.arange(n_fft // 2 + 1) / (n_fft // 2))  # e^{-jw} per bin
    response = np.ones(z.size, dtype=np.complex128)
    for b, a in sections:
        response *= np.polyval(b[::-1], z) / np.polyval(a[::-1], z)
    h = np.fft.irfft(response, n_fft)[:length]
    fade = max(1, length // 10)
    h[-fade:] *= np.cos(0.5 * np.pi * np.arange(1, fade + 1) / fade) ** 2
    return h


@cache
def fast_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: an FFT length pocketfft handles fast."""
    best = 1 << (n - 1).bit_length()
    five = 1
    while five < best:
        three = five
        while three < best:
            size = three << max(0, (-(-n // three) - 1).bit_length())
            best = min(best, size)
            three *= 3
        five *= 5
    return best


def convolve(audio: np.ndarray, h: np.ndarray) -> np.ndarray:
    """`audio` (n,) or (n, channels) filtered by FIR `h`, same length (float64)."""
    x = np.asarray(audio, dtype=np.float64)
    n = x.shape[0]
    size = fast_size(n + h.size - 1)
    spectrum = np.fft.rfft(h, size)
    shaped = spectrum if x.ndim == 1 else spectrum[:, None]
    return np.fft.irfft(np.fft.rfft(x, size, axis=0) * shaped, size, axis=0)[:n]


class OverlapAdd:
    """Streaming FIR filters for (n, channels) blocks: each kernel's convolution tail is
    carried over to the next block. Several kernels share one FFT of the input."""

    def __init__(self, kernels: list[np.ndarray], channels: int) -> None:
        self.length = max(h.size for h in kernels)
        self.kernels = kernels
        self.tails = [np.zeros((self.length - 1, channels)) for _ in kernels]
        self._spectra: dict[int, list[np.ndarray]] = {}

    def __call__(self, block: np.ndarray) -> list[np.ndarray]:
        n = block.shape[0]
        size = fast_size(n + self.length - 1)
        spectra = self._spectra.get(size)
        if spectra is None:
            spectra = self._spectra[size] = [np.fft.rfft(h, size)[:, None] for h in self.kernels]
        source = np.fft.rfft(block, size, axis=0)
        out = []
        for index, spectrum in enumerate(spectra):
            full = np.fft.irfft(source * spectrum, size, axis=0)[: n + self.length - 1]
            full[: self.length - 1] += self.tails[index]
            self.tails[index] = full[n:].copy()
            out.append(full[:n])
        return out


@cache
def interpolator(factor: int) -> np.ndarray:
    """A 12-taps-per-phase Kaiser-windowed sinc for `factor`x interpolation of a zero-stuffed
    signal (its taps sum to `factor`), cut off at 0.9 of the input's Nyquist frequency."""
    taps = 12 * factor + 1
    t = (np.arange(taps) - taps // 2) / factor
    return np.sinc(t * 0.9) * 0.9 * np.kaiser(taps, 8.0)


def upsample(audio: np.ndarray, factor: int) -> np.ndarray:
    """(n * factor, channels) band-limited interpolation, aligned with the input (float64).
    Polyphase: each output phase is the input convolved with every factor-th tap."""
    x = np.asarray(audio, dtype=np.float64).reshape(audio.shape[0], -1)
    h = interpolator(factor)
    centre = h.size // 2
    out = np.empty((x.shape[0], factor, x.shape[1]))
    for phase in range(factor):
        taps = h[(centre + phase) % factor :: factor]
        # output sample factor * j + phase sits at input time j + phase / factor
        offset = (centre + phase) // factor
        for channel in range(x.shape[1]):
            full = np.convolve(x[:, channel], taps)
            out[:, phase, channel] = full[offset : offset + x.shape[0]]
    return out.reshape(-1, x.shape[1])


def window_min(x: np.ndarray, width: int) -> np.ndarray:
    """r[i] = min(x[i : i + width]), x extended by its last value (van Herk / Gil-Werman:
    prefix and suffix minima within blocks of `width`, O(n) whatever the width)."""
    n = x.size
    blocks = -(-(n + width - 1) // width)
    padded = np.concatenate([x, np.full(blocks * width - n, x[-1])]).reshape(blocks, width)
    prefix = np.minimum.accumulate(padded, axis=1).ravel()
    suffix = np.minimum.accumulate(padded[:, ::-1], axis=1)[:, ::-1].ravel()
    index = np.arange(n)
    return np.minimum(suffix[index], prefix[index + width - 1])
