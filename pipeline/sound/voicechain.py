"""The voice chain for synthetic voices: high-pass, gentle de-essing, soft EQ, an optional room.

Every setting is in `CHAINS` and `ROOMS` below, nowhere else. A chain is applied to each
synthetic clip once, when the clip is conditioned for the mix (sound/voice.py), and cached
beside it: the renderer then streams the processed clips block by block like any other, the
loudness prediction measures what is really played, and a warm build pays nothing for it.
Recorded voices are never processed: a person's recording stays as recorded.

- high-pass, 2nd order at 80 Hz: rumble and the synthetic low-frequency hum go, no voice does;
- de-esser (off by default, see `deess`): where the 5-9 kHz band holds more than
  DEESS_THRESHOLD_DB of a 5 ms window's energy (an "s", "sh"), that band is turned down by
  half the excess, at most DEESS_MAX_DB;
- EQ: a little warmth (+1 dB at 160 Hz) and presence (+1.5 dB at 3 kHz), both broad;
- room: short early reflections (8-31 ms, 14-24 dB down), no reverberant tail.
Units: Hz, dB, seconds. Arrays: mono float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from .filters import Biquad, biquad, convolve, kernel

SYNTHETIC_ENGINES = ("piper", "gtts")  # the chain is for these; recordings stay as recorded
DEESS_BAND_HZ = (5000.0, 9000.0)
DEESS_THRESHOLD_DB = -12.0  # band share of a window's energy above which it is sibilance
DEESS_RATIO = 2.0
DEESS_MAX_DB = 6.0
DEESS_WINDOW_S = 0.005
ROOMS = {  # name -> (delay s, gain dB) of each early reflection
    "none": (),
    "small": ((0.008, -14.0), (0.013, -17.0), (0.019, -19.0), (0.026, -22.0), (0.031, -24.0)),
}


@dataclass(frozen=True)
class VoiceChain:
    highpass_hz: float = 80.0  # 0: off
    # Off by default: on piper-joe it was the one part DNSMOS P.808 scored below the dry
    # voice (-0.007 +- 0.003); high-pass + EQ without it: -0.002 +- 0.003, no worse
    # (scripts/voice_quality.py --parts)
    deess: bool = False
    warmth_db: float = 1.0  # peaking at 160 Hz
    presence_db: float = 1.5  # peaking at 3 kHz
    room: str = "none"

    @property
    def tag(self) -> str:
        """Short and stable: goes into the name of a conditioned clip's cache file."""
        if self == DRY:
            return ""
        parts = (self.highpass_hz, int(self.deess), self.warmth_db, self.presence_db, self.room)
        return "-vc" + "_".join(f"{p:g}" if isinstance(p, float) else str(p) for p in parts)

    def apply(self, clip: np.ndarray, rate_hz: int) -> np.ndarray:
        """The processed clip, same length (reflections ring out inside the clip's end pad)."""
        x = np.asarray(clip, dtype=np.float64)
        if x.size == 0 or self == DRY:
            return x.astype(np.float32)
        h = _eq_kernel(self.highpass_hz, self.warmth_db, self.presence_db, rate_hz)
        if h is not None:
            x = convolve(x, h)
        if self.deess:
            x = deess(x, rate_hz)
        if self.room != "none":
            x = add_room(x, rate_hz, ROOMS[self.room])
        return x.astype(np.float32)


DRY = VoiceChain(highpass_hz=0.0, deess=False, warmth_db=0.0, presence_db=0.0, room="none")
DEFAULT_CHAIN = VoiceChain()


def chain_for(room: str = "none", dry: bool = False) -> VoiceChain:
    """The chain a build uses: the default with the room asked for, or none at all."""
    if room not in ROOMS:
        from ..errors import RenderError, did_you_mean

        raise RenderError(f"--room {room!r}{did_you_mean(room, ROOMS)}; valid: {', '.join(ROOMS)}")
    if dry:
        return DRY if room == "none" else VoiceChain(0.0, False, 0.0, 0.0, room)
    return VoiceChain(room=room)


@cache
def _eq_kernel(highpass_hz: float, warmth_db: float, presence_db: float, rate_hz: int):
    sections: list[Biquad] = []
    if highpass_hz > 0:
        sections.append(biquad("highpass", highpass_hz, 1 / np.sqrt(2), rate_hz))
    if warmth_db:
        sections.append(biquad("peaking", 160.0, 0.7, rate_hz, warmth_db))
    if presence_db:
        sections.append(biquad("peaking", 3000.0, 0.8, rate_hz, presence_db))
    return kernel(tuple(sections), round(0.05 * rate_hz)) if sections else None


@cache
def _band_kernel(rate_hz: int) -> np.ndarray:
    """A linear-phase (symmetric, windowed-sinc) band-pass for DEESS_BAND_HZ: its output lines
    up with the input sample for sample, so subtracting part of it turns the band down
    without the comb filtering a phase-shifting filter would cause."""
    taps = 2 * round(0.003 * rate_hz) + 1
    t = np.arange(taps) - taps // 2
    low, high = (f / rate_hz for f in DEESS_BAND_HZ)
    h = 2 * high * np.sinc(2 * high * t) - 2 * low * np.sinc(2 * low * t)
    return h * np.blackman(taps)


def deess(x: np.ndarray, rate_hz: int) -> np.ndarray:
    """Turn the sibilance band down where it dominates a short window (a split-band de-esser:
    the rest of the spectrum is untouched)."""
    h = _band_kernel(rate_hz)
    delay = h.size // 2
    band = convolve(np.concatenate([x, np.zeros(delay)]), h)[delay:]
    width = max(1, round(DEESS_WINDOW_S * rate_hz))
    share_db = 10 * np.log10((_moving_mean(band**2, width) + 1e-12) /
                             (_moving_mean(x**2, width) + 1e-12))  # fmt: skip
    cut_db = np.clip((share_db - DEESS_THRESHOLD_DB) * (1 - 1 / DEESS_RATIO), 0, DEESS_MAX_DB)
    cut_db = _moving_mean(cut_db, width)  # no zipper: the gain moves over a window
    return x - band * (1 - 10 ** (-cut_db / 20))


def _moving_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Centred mean over `width` samples (edges use what exists)."""
    sums = np.concatenate([[0.0], np.cumsum(x)])
    index = np.arange(x.size)
    lo = np.clip(index - width // 2, 0, x.size)
    hi = np.clip(index + width - width // 2, 0, x.size)
    return (sums[hi] - sums[lo]) / np.maximum(hi - lo, 1)


def add_room(
    x: np.ndarray, rate_hz: int, reflections: tuple[tuple[float, float], ...]
) -> np.ndarray:
    """The dry voice plus delayed, quieter copies of itself, cut at the clip's end."""
    out = x.copy()
    for delay_s, gain_db in reflections:
        delay = round(delay_s * rate_hz)
        if delay < x.size:
            out[delay:] += x[: x.size - delay] * 10 ** (gain_db / 20)
    return out
