"""Small numpy audio helpers shared by stages. Arrays are float32; mono is 1-D, multichannel
audio is (frames, channels)."""

from __future__ import annotations

import numpy as np


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def resample(audio: np.ndarray, src_hz: int, dst_hz: int) -> np.ndarray:
    """Band-limited resampling of a short mono clip in the frequency domain.

    Clips are seconds long and start and end in silence, so one FFT is cheap and the periodic
    wrap-around of the transform is inaudible (zero padding keeps the ends apart).
    """
    if src_hz == dst_hz or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    pad = src_hz // 10
    padded = np.concatenate([audio.astype(np.float64), np.zeros(pad)])
    n_in = padded.size
    n_out = round(n_in * dst_hz / src_hz)
    spectrum = np.fft.rfft(padded)
    out_bins = n_out // 2 + 1
    resized = np.zeros(out_bins, dtype=np.complex128)
    keep = min(out_bins, spectrum.size)
    resized[:keep] = spectrum[:keep]
    result = np.fft.irfft(resized, n_out) * (n_out / n_in)
    return result[: round(audio.size * dst_hz / src_hz)].astype(np.float32)


def trim_silence(
    audio: np.ndarray, rate_hz: int, threshold_dbfs: float, pad_s: float
) -> np.ndarray:
    """Cut leading and trailing silence to exactly `pad_s` seconds, so a clip's length is its
    speech plus a known pad and the timeline places words where it says."""
    window = max(1, rate_hz // 100)  # 10 ms
    frames = audio.size // window
    if frames == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: frames * window].reshape(frames, window) ** 2, axis=1))
    loud = np.flatnonzero(rms > db_to_gain(threshold_dbfs))
    if loud.size == 0:
        return np.zeros(0, dtype=np.float32)
    start, end = loud[0] * window, min(audio.size, (loud[-1] + 1) * window)
    pad = round(pad_s * rate_hz)
    silence = np.zeros(pad, dtype=np.float32)
    return np.concatenate([silence, audio[start:end].astype(np.float32), silence])


def normalize_peak(audio: np.ndarray, peak_dbfs: float) -> np.ndarray:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        return audio.astype(np.float32)
    return (audio * (db_to_gain(peak_dbfs) / peak)).astype(np.float32)
