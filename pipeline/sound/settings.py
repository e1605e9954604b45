"""Sound options from the CLI, checked once: loudness target, bitrate, sample rate."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import EncodeError, RenderError, did_you_mean
from ..tuning import (
    LOUDNESS_PRESETS,
    MAX_BED_LEVEL_LU,
    MAX_TARGET_LUFS,
    MIN_BED_LEVEL_LU,
    MIN_TARGET_LUFS,
    MP3_BITRATES_K,
    SAMPLE_RATES_HZ,
)


@dataclass(frozen=True)
class LoudnessTarget:
    """Integrated loudness (LUFS, BS.1770) the finished file aims at, and its channel count."""

    lufs: float
    channels: int
    label: str


def resolve_loudness(value: str = "podcast", mono: bool = False) -> LoudnessTarget:
    """A preset name (podcast, mono, sleep) or a number of LUFS; --mono makes it one channel
    (and turns the stereo `podcast` default into the `mono` preset, -19 LUFS)."""
    value = value.strip().lower()
    if value in LOUDNESS_PRESETS:
        if mono and value == "podcast":
            value = "mono"
        lufs, channels = LOUDNESS_PRESETS[value]
        return LoudnessTarget(lufs, 1 if mono else channels, value)
    try:
        lufs = float(value.removesuffix("lufs").strip())
    except ValueError:
        lufs = math.nan
    if not MIN_TARGET_LUFS <= lufs <= MAX_TARGET_LUFS:  # also false for NaN
        raise RenderError(
            f"--loudness {value!r}{did_you_mean(value, LOUDNESS_PRESETS)}: give a preset ("
            + ", ".join(f"{k} = {v[0]:g} LUFS" for k, v in LOUDNESS_PRESETS.items())
            + f") or a number of LUFS from {MIN_TARGET_LUFS:g} to {MAX_TARGET_LUFS:g}"
        )
    return LoudnessTarget(lufs, 1 if mono else 2, f"{lufs:g} LUFS")


def check_bed_level(lu: float) -> float:
    if not MIN_BED_LEVEL_LU <= lu <= MAX_BED_LEVEL_LU:
        raise RenderError(
            f"--bed-level {lu:g}: give how many LU the background sits below the voice, "
            f"from {MIN_BED_LEVEL_LU:g} to {MAX_BED_LEVEL_LU:g} (default 18)"
        )
    return lu


def check_bitrate(bitrate: str) -> str:
    """A LAME constant bitrate such as '128k'."""
    text = bitrate.strip().lower().removesuffix("k")
    if not text.isdigit() or int(text) not in MP3_BITRATES_K:
        raise EncodeError(
            f"--bitrate {bitrate!r}: give one of {', '.join(f'{k}k' for k in MP3_BITRATES_K)}"
        )
    return f"{int(text)}k"


def check_sample_rate(rate_hz: int) -> int:
    if rate_hz not in SAMPLE_RATES_HZ:
        raise EncodeError(
            f"--sample-rate {rate_hz}: give one of {', '.join(map(str, SAMPLE_RATES_HZ))} (Hz)"
        )
    return rate_hz
