"""Narration clips made ready to mix: loudness-normalized, peak-controlled, measured once.

Each cached clip gets two sidecar files beside its `.npy`: the conditioned clip (raw float32)
and its measurement (JSON: LUFS, dBTP, gated block energies). They are written once, with a
temp file and a rename, and reused by every later build, so a build never measures a clip twice
and can predict the session's loudness before rendering a frame.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dsp import db_to_gain
from ..files import write_atomic
from .loudness import Loudness, block_energies, gated_mean, limit, measure, true_peak_envelope

CONDITION_VERSION = 5  # bump when conditioning changes what a sidecar holds
VOICE_REF_LUFS = -23.0  # every line is brought to this loudness (mono) before the mix gain
VOICE_MAX_PLR_DB = 13.5  # and its true peak held this far above it (raw speech peaks ~20 dB)
VOICE_LIMIT_SMOOTH_S = 0.008  # slow enough gain moves that several dB of limiting stay clean


@dataclass(frozen=True)
class VoiceClip:
    """A conditioned mono clip (float32, memory-mapped) with its measurement."""

    samples: np.ndarray
    loudness: Loudness
    energies: np.ndarray  # K-weighted energy of each 400 ms block (for gating the session)
    source: Path | None = None  # the conditioned clip's cache file, when it has one

    def peak_envelope(self) -> np.ndarray:
        """Per-frame true peak (linear), cached beside the clip as float16 rounded up (so a
        limiter driven by it never lets a peak through): the costly part of limiting, done once
        per clip instead of once per build, and memory-mapped instead of held."""
        if self.source is None:
            return true_peak_envelope(self.samples)
        path = self.source.with_suffix(".tp.f16")
        frames = self.samples.shape[0]
        with contextlib.suppress(OSError, ValueError):
            cached = np.memmap(path, dtype="<f2", mode="r")
            if cached.shape[0] == frames:
                return cached
        envelope = true_peak_envelope(self.samples) * (1 + 2.0**-10)  # f16 rounds by < 2^-11
        write_atomic(path, envelope.astype("<f2").tobytes())
        return np.memmap(path, dtype="<f2", mode="r") if frames else envelope


def condition(clip: np.ndarray, rate_hz: int) -> np.ndarray:
    """Normalize a clip to VOICE_REF_LUFS and limit its true peak to VOICE_MAX_PLR_DB above it,
    so every line is equally loud and the mix gain can rise without clipping."""
    energy, _ = gated_mean(block_energies(clip, rate_hz))
    if energy <= 0:
        return np.asarray(clip, dtype=np.float32)
    lufs = -0.691 + 10 * np.log10(energy)
    level = np.asarray(clip, dtype=np.float64) * db_to_gain(VOICE_REF_LUFS - lufs)
    ceiling = db_to_gain(VOICE_REF_LUFS + VOICE_MAX_PLR_DB)
    return limit(level, ceiling, rate_hz, smooth_s=VOICE_LIMIT_SMOOTH_S)


def sidecars(clip_path: Path) -> tuple[Path, Path]:
    stem = clip_path.with_suffix("")
    return (
        stem.with_name(f"{stem.name}.mix{CONDITION_VERSION}.f32"),
        stem.with_name(f"{stem.name}.mix{CONDITION_VERSION}.json"),
    )


def load_voice_clip(clip_path: Path, rate_hz: int) -> VoiceClip:
    """The conditioned clip and its loudness, computing and caching them on first use."""
    audio_path, meta_path = sidecars(clip_path)
    try:
        meta = json.loads(meta_path.read_text())
        samples = np.memmap(audio_path, dtype="<f4", mode="r")
        if meta["rate_hz"] != rate_hz or samples.shape[0] != meta["frames"]:
            raise ValueError("stale sidecar")
        return VoiceClip(
            samples,
            Loudness(meta["lufs"], meta["true_peak_db"], meta["blocks"]),
            np.asarray(meta["energies"], dtype=np.float64),
            audio_path,
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    samples = condition(np.load(clip_path, mmap_mode="r"), rate_hz)
    energies = block_energies(samples, rate_hz)
    loud = measure(samples, rate_hz)
    meta = {
        "rate_hz": rate_hz,
        "frames": int(samples.shape[0]),
        "lufs": loud.lufs,
        "true_peak_db": loud.true_peak_db,
        "blocks": loud.blocks,
        "energies": [float(e) for e in energies],
    }
    write_atomic(audio_path, np.ascontiguousarray(samples, dtype="<f4").tobytes())
    write_atomic(meta_path, json.dumps(meta).encode())
    return VoiceClip(np.memmap(audio_path, dtype="<f4", mode="r"), loud, energies, audio_path)


def load_voice_clips(paths: Mapping[str, Path], rate_hz: int) -> dict[str, VoiceClip]:
    """Conditioned clips for a build, by line id; one load per distinct file."""
    by_path: dict[Path, VoiceClip] = {}
    for path in paths.values():
        if path not in by_path:
            by_path[path] = load_voice_clip(path, rate_hz)
    return {line_id: by_path[path] for line_id, path in paths.items()}
