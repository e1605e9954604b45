"""The session's loudness, metered by pmr as it renders, and any file's, afterwards.

While rendering: every block the encoder gets is K-weighted here as well (kweighting.py: the
filter ffmpeg's ebur128 designs, run a block at a time), and each 100 ms step's energy and
sample peak kept; the momentary loudness of the 400 ms window ending at each step follows.
Integrated loudness is BS.1770 gating over those windows (`loudness.gated_mean`), so the
chunks of a chunked encode each meter their own steps and the gating runs once over all of
them. LAME encodes at a fixed 0.95x gain (MP3_LEVEL_DB, measured), so the file's loudness is
the metered PCM's plus that; ffmpeg's own figure for the decoded file agrees within 0.05 LU,
and each step's momentary loudness with ebur128's log of the same PCM to its 3 decimals
(tests/test_chunked.py). It costs no second process, no MP3 decode, and no meter in the
encoder's ffmpeg (asplit + ebur128 there cost 2.5x this, on a core the encoders need).

True peak is measured on the finished MP3 where it can be highest: ffmpeg decodes short
stretches around the PEAK_WINDOWS loudest 100 ms steps (by the rendered PCM's sample peaks,
noted while rendering) and runs ebur128's 4x-oversampled true peak over them.

`measure_file` meters a whole file (previews, a fallback, `pmr check`).
"""

from __future__ import annotations

import math
import mmap
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..encode import ffmpeg_exe
from ..errors import EncodeError
from ..mp3frames import DECODER_DELAY, encoder_delay, frame_near, header, tag_size
from ..tuning import MP3_LEVEL_DB
from .kweighting import block_filter, weighted_energies
from .loudness import BLOCK_S, STEP_S, energy_to_lufs, gated_mean

_SUMMARY = re.compile(
    r"Integrated loudness:\s*I:\s*(?P<i>-?[\d.]+|-inf) LUFS.*True peak:\s*Peak:\s*"
    r"(?P<tp>-?[\d.]+|-inf) dBFS",
    re.S,
)
_METER = ["-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"]
WINDOW_STEPS = round(BLOCK_S / STEP_S)  # a gating window is 4 steps
WARM_STEPS = 1  # metered before a chunk's first window: the K-weighting settles in 10 ms
PEAK_WINDOWS = 12  # stretches of the MP3 decoded for its true peak
PEAK_BEFORE_S, PEAK_AFTER_S = 0.25, 0.15  # decoded around a loud step (faded in / out)
PEAK_LEAD_FRAMES = 3  # MP3 frames decoded (and silenced) before a stretch: after a cut, the
# first frame decodes silent with the bit reservoir on, as its data began in the one before
FADE_IN_S, FADE_OUT_S = 0.15, 0.05  # so a stretch's cut edges make no overshoot of their own


@dataclass(frozen=True)
class Measured:
    lufs: float  # integrated loudness, LUFS
    true_peak_db: float  # dBTP


def step_frames(rate_hz: int) -> int:
    """Frames in one 100 ms step (as ffmpeg's ebur128 counts them)."""
    return rate_hz // 10


@dataclass(frozen=True)
class MeteredSteps:
    """Steps [first, first + n) of a session (100 ms each, from frame 0): the momentary
    loudness (LUFS) of the 400 ms window ending with each step, and each step's sample peak
    (linear, over channels)."""

    first: int
    momentary: np.ndarray
    peaks: np.ndarray


class StepPeaks:
    """Sample peaks per step of consecutive frames given from a step boundary on."""

    def __init__(self, rate_hz: int) -> None:
        self.step = step_frames(rate_hz)
        self.carry: np.ndarray | None = None  # (frames, channels) short of a whole step
        self.parts: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        frames = block.reshape(block.shape[0], -1)
        if self.carry is not None and self.carry.shape[0]:
            frames = np.concatenate([self.carry, frames])
        whole = frames.shape[0] // self.step * self.step
        # a step's frames, every channel, are one contiguous row: the largest and the least
        # sample of each row give its peak with no |x| copy (0.1 s less per 10 min than abs)
        rows = np.ascontiguousarray(frames[:whole]).reshape(-1, self.step * frames.shape[1])
        self.parts.append(np.maximum(rows.max(axis=1, initial=0), -rows.min(axis=1, initial=0)))
        self.carry = frames[whole:].copy()

    def peaks(self) -> np.ndarray:
        """Every step's peak, a last partial step included."""
        rest = self.carry if self.carry is not None and self.carry.size else None
        tail = [np.abs(rest).max(keepdims=True).reshape(1)] if rest is not None else []
        return np.concatenate([*self.parts, *tail]) if self.parts or tail else np.zeros(0)


class StepMeter:
    """The momentary loudness and the sample peak of every 100 ms step of consecutive
    (frames, channels) float32 blocks given from a step boundary on, the first frame being
    that of step `first` of the session."""

    def __init__(self, rate_hz: int, channels: int, first: int = 0) -> None:
        self.step, self.first = step_frames(rate_hz), first
        self.filter = block_filter(rate_hz, self.step)
        self.state = np.zeros((channels, 4))
        self.waiting = np.zeros((0, channels), dtype=np.float32)  # short of a filter block
        self.carry = np.zeros(0)  # filter blocks' energies short of a step
        self.energies: list[np.ndarray] = []  # each whole step's, summed over channels
        self.peaks = StepPeaks(rate_hz)

    def add(self, block: np.ndarray) -> None:
        frames = block.reshape(block.shape[0], -1)
        self.peaks.add(frames)
        if self.waiting.shape[0]:
            frames = np.concatenate([self.waiting, frames])
        size = self.filter.frames
        whole = frames.shape[0] // size * size
        self.waiting = frames[whole:].copy()
        if not whole:
            return
        blocks, self.state = weighted_energies(frames[:whole], self.state, self.filter)
        joined = np.concatenate([self.carry, blocks])
        per_step = self.step // size
        done = joined.size // per_step * per_step
        self.energies.append(joined[:done].reshape(-1, per_step).sum(axis=1))
        self.carry = joined[done:]

    def steps(self) -> MeteredSteps:
        """The whole steps metered: the momentary loudness (LUFS) of the 400 ms window
        ending with each (-120.691, ebur128's figure for an unfilled window, for the first
        WINDOW_STEPS - 1), and each one's sample peak."""
        energy = np.concatenate(self.energies) if self.energies else np.zeros(0)
        window = np.convolve(energy, np.ones(WINDOW_STEPS))[: energy.size]
        power = window / (WINDOW_STEPS * self.step)
        power[: WINDOW_STEPS - 1] = 1e-12
        momentary = -0.691 + 10 * np.log10(np.maximum(power, 1e-30))
        return MeteredSteps(self.first, momentary, self.peaks.peaks()[: energy.size])


def integrated_lufs(steps: Sequence[MeteredSteps], total: int, rate_hz: int) -> float:
    """BS.1770 gating over the windows that lie whole inside the session's `total` frames: the
    loudness of the metered PCM (the MP3 decodes MP3_LEVEL_DB below it)."""
    last = total // step_frames(rate_hz)  # steps [WINDOW_STEPS - 1, last) end a whole window
    windows = [
        s.momentary[max(0, WINDOW_STEPS - 1 - s.first) : max(0, last - s.first)] for s in steps
    ]
    momentary = np.concatenate(windows) if windows else np.zeros(0)
    with np.errstate(over="ignore"):
        energies = 10 ** ((momentary + 0.691) / 10)
    energy, _ = gated_mean(energies)
    return energy_to_lufs(energy)


def loudest_steps(steps: Sequence[MeteredSteps], count: int = PEAK_WINDOWS) -> list[int]:
    """The `count` steps with the highest sample peaks, in session order."""
    index = np.concatenate([s.first + np.arange(s.peaks.size) for s in steps])
    peaks = np.concatenate([s.peaks for s in steps])
    return sorted(int(i) for i in index[np.argsort(-peaks, kind="stable")[:count]])


def true_peak_db(path: Path, loud: Sequence[int], rate_hz: int) -> float:
    """ffmpeg's 4x true peak of the MP3 around the given steps: each stretch (PEAK_BEFORE_S
    before the step to PEAK_AFTER_S after it, faded in and out) is decoded from the first byte
    of the frame PEAK_LEAD_FRAMES before it, so ffmpeg seeks nothing (its `-ss` decodes from
    the seek table's last 1 % point: 4x the cost at the end of a 20-min file); the stretches
    are joined and metered. The frame is found by its header near the byte CBR puts it at."""
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        stretches = peak_stretches(data, path, loud, rate_hz)
    inputs, chains, labels = [], [], []
    for k, (source, lead, length) in enumerate(stretches):
        inputs += ["-f", "mp3", "-i", source]
        chains.append(
            f"[{k}:a]afade=t=in:st={lead:.4f}:d={FADE_IN_S},"
            f"afade=t=out:st={lead + length - FADE_OUT_S:.4f}:d={FADE_OUT_S}[w{k}]"
        )
        labels.append(f"[w{k}]")
    graph = ";".join([*chains, f"{''.join(labels)}concat=n={len(loud)}:v=0:a=1,"
                      "ebur128=peak=true"])  # fmt: skip
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-nostdin", *inputs,
         "-filter_complex", graph, "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    return _parse(result.stderr, result.returncode, path).true_peak_db


def peak_stretches(
    data: bytes | mmap.mmap, path: Path, steps: Sequence[int], rate_hz: int
) -> list[tuple[str, float, float]]:
    """For each step, the stretch around it of the MP3 `data` (read from `path`): (ffmpeg
    input, seconds into its decoded audio where the stretch starts, the stretch's seconds)."""
    tag = tag_size(data[:10])
    first = header(data, tag)
    if first is None:
        raise EncodeError(f"{path}: no MP3 frame after its tags to measure the true peak of")
    delay = encoder_delay(data[tag : tag + first.size])
    audio = tag + first.size if delay is not None else tag  # past the Info frame
    lag = (576 if delay is None else delay) + DECODER_DELAY  # frame 0's first decoded sample
    step_s = step_frames(rate_hz) / rate_hz
    out = []
    for step in steps:
        start = max(0.0, step * step_s - PEAK_BEFORE_S)
        length = step * step_s + step_s + PEAK_AFTER_S - start
        frame = max(0, int((start * rate_hz + lag) // first.samples) - PEAK_LEAD_FRAMES)
        frames = math.ceil(length * rate_hz / first.samples) + 2 * PEAK_LEAD_FRAMES + 1
        estimate = audio + round(frame * first.mean_bytes)
        begin = frame_near(data, estimate, first)
        begin = estimate if begin is None else begin  # (ffmpeg finds the next frame)
        end = min(len(data), begin + math.ceil(frames * first.mean_bytes))
        lead = (start * rate_hz + lag - frame * first.samples) / rate_hz
        out.append((f"subfile,,start,{begin},end,{end},,:{path}", lead, length))
    return out


def session_measured(
    path: Path, steps: Sequence[MeteredSteps], total: int, rate_hz: int
) -> Measured | None:
    """The finished session's figures from its encoders' meter logs (None if they hold none)."""
    if not steps or sum(s.momentary.size for s in steps) == 0:
        return None
    lufs = integrated_lufs(steps, total, rate_hz) + MP3_LEVEL_DB
    return Measured(lufs, true_peak_db(path, loudest_steps(steps), rate_hz))


def measure_file(path: Path) -> Measured:
    """Run `ffmpeg -i FILE -af ebur128=peak=true -f null -` and read its summary."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-nostdin", "-i", str(path), *_METER],
        capture_output=True,
        text=True,
    )
    return _parse(result.stderr, result.returncode, path)


def _parse(log: str, code: int, path: Path) -> Measured:
    found = _SUMMARY.search(log)
    if code != 0 or found is None:
        tail = " / ".join(log.strip().splitlines()[-2:])
        raise EncodeError(f"{path}: ffmpeg could not measure its loudness: {tail or 'no output'}")
    return Measured(float(found["i"]), float(found["tp"]))
