"""Timeline + conditioned clips + settings -> MixScore: every gain decided before rendering.

The session's integrated loudness is predicted, not measured: the cached 400 ms block energies
of each placed clip and cue, plus the bed's calibrated energy over the pauses, are gated the
way BS.1770 gates the finished programme, and the voice gain that lands the prediction on the
target is found by bisection. So the build renders once; the meter checks what it rendered
(sound/meter.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..dsp import db_to_gain
from ..fit import Timeline
from ..tuning import (
    BED_BELOW_VOICE_LU,
    BED_CALIBRATE_ALL_S,
    BED_CALIBRATION_S,
    BED_CREST_LU,
    BLOCK_FRAMES,
    CHIME_BELOW_VOICE_LU,
    MP3_LEVEL_DB,
    SECTION_CHIME_BELOW_VOICE_LU,
    TONE_BELOW_VOICE_LU,
    TRUE_PEAK_CEILING_DBTP,
)
from .backgrounds import BedSpec, make_bed, resolve
from .cues import cue
from .envelope import bed_envelope, speech_spans
from .loudness import (
    BLOCK_S,
    STEP_S,
    block_energies,
    energy_to_lufs,
    gated_mean,
    limit,
    stream_block_energies,
)
from .settings import LoudnessTarget, resolve_loudness
from .voice import VoiceClip

# (spec, rate_hz, channels, seed, frames) -> the 400 ms block energies of the bed's first frames
BedEnergies = Callable[[BedSpec, int, int, int, int], np.ndarray]
SECTION_BELL_LEAD_S = 2.0  # a section bell rings out in the pause before the section
PODCAST = resolve_loudness("podcast")
LIMITER_PASSES = 3  # solve / limit rounds: the gain settles within 0.05 dB in two or three


@dataclass(frozen=True)
class MixSettings:
    background: str = "pad"  # a name from BACKGROUNDS or an audio file
    bed_level_lu: float = BED_BELOW_VOICE_LU  # LU below the voice
    target: LoudnessTarget = PODCAST
    chimes: bool = True
    section_chimes: bool = False
    tones: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Placed:
    """A mono sound at a frame, played at `gain` (linear)."""

    start: int
    samples: np.ndarray
    gain: float
    limit_to: float = 0.0  # > 0: true-peak limit samples * gain to this (linear) when played
    envelope: np.ndarray | None = None  # true-peak envelope of `samples`, if known

    @property
    def end(self) -> int:
        return self.start + self.samples.shape[0]

    def played(self, rate_hz: int) -> np.ndarray:
        """The samples as they sound in the mix. Limiting is done here, when the renderer
        reaches the sound, so the plan never holds limited copies of the narration."""
        if self.limit_to <= 0:
            return self.samples
        loud = np.asarray(self.samples, dtype=np.float64) * self.gain
        envelope = None
        if self.envelope is not None:
            envelope = np.asarray(self.envelope, dtype=np.float64) * self.gain
        return limit(loud, self.limit_to, rate_hz, smooth_s=0.004, envelope=envelope)


@dataclass(frozen=True)
class MixScore:
    rate_hz: int
    channels: int
    sounds: tuple[Placed, ...]  # narration and cues, sorted by start
    bed: BedSpec
    bed_gain: float  # linear, in pauses (before ducking and fades)
    seed: int
    ceiling: float  # linear sample ceiling, a last guard that should never act
    voice_gain_db: float
    predicted_lufs: float
    limited_clips: int  # clips the true-peak limiter had to touch at this gain


def cue_placements(timeline: Timeline, settings: MixSettings) -> list[tuple[int, str]]:
    """(frame, cue kind) of every cue the settings ask for."""
    out: list[tuple[int, str]] = []
    if settings.chimes:
        out += [(e.start, "chime") for e in timeline.of_kind("cue")]
    if settings.chimes and settings.section_chimes:
        lead = round(SECTION_BELL_LEAD_S * timeline.rate_hz)
        chimes = [start for start, _ in out]
        pauses_before = {e.end: e for e in timeline.of_kind("pause") if e.length >= lead}
        for chapter in timeline.chapters[1:]:
            start = chapter.start - lead if chapter.start in pauses_before else chapter.start
            if all(abs(start - c) > 2 * lead for c in chimes):
                out.append((start, "section"))
    if settings.tones:
        for e in timeline.of_kind("line"):
            for kind in ("tense", "release"):
                if e.ref.endswith(f".{kind}"):
                    out.append((e.end, kind))
    return sorted(out)


def score_mix(
    timeline: Timeline,
    clips: Mapping[str, VoiceClip],
    settings: MixSettings,
    measure_bed: BedEnergies | None = None,
) -> MixScore:
    """Decide every gain of the session so its integrated loudness lands on the target, in three
    named steps: place the cues, calibrate the bed, solve the voice gain. `measure_bed` gives
    the bed's calibration energies (default `bed_energies`; a build passes a cached one)."""
    frame = _Frame.of(timeline, settings)
    cues = place_cues(timeline, settings, frame)
    bed = calibrate_bed(timeline, settings, frame, measure_bed or bed_energies)
    voice = solve_voice_gain(timeline, clips, frame, bed.energy + cues.energy)
    ceiling = db_to_gain(TRUE_PEAK_CEILING_DBTP)
    placed = list(cues.sounds)
    for e in timeline.of_kind("line"):
        clip = clips[e.ref]
        if e.ref in voice.limited:
            placed.append(Placed(e.start, clip.samples, voice.gain, ceiling, clip.peak_envelope()))
        else:
            placed.append(Placed(e.start, clip.samples, voice.gain))
    return MixScore(
        rate_hz=frame.rate,
        channels=frame.channels,
        sounds=tuple(sorted(placed, key=lambda s: s.start)),
        bed=bed.spec,
        bed_gain=bed.gain,
        seed=settings.seed,
        ceiling=db_to_gain(TRUE_PEAK_CEILING_DBTP + 0.5),
        voice_gain_db=voice.gain_db,
        predicted_lufs=voice.predicted_lufs + MP3_LEVEL_DB,
        limited_clips=len(voice.limited),
    )


@dataclass(frozen=True)
class _Frame:
    """What every step shares: the rate, the layout, the PCM target and the gating grid."""

    rate: int
    channels: int
    target: float  # LUFS the PCM needs for the MP3 to land on the settings' target
    grid: _Grid

    @classmethod
    def of(cls, timeline: Timeline, settings: MixSettings) -> _Frame:
        target = settings.target.lufs - MP3_LEVEL_DB
        grid = _Grid(timeline.total, timeline.rate_hz)
        return cls(timeline.rate_hz, settings.target.channels, target, grid)

    @property
    def duplicate(self) -> float:
        """A mono sound in every channel: channel energies add."""
        return float(self.channels)


@dataclass(frozen=True)
class PlacedCues:
    sounds: tuple[Placed, ...]
    energy: np.ndarray  # their block energies on the session's gating grid


@dataclass(frozen=True)
class CalibratedBed:
    spec: BedSpec
    gain: float  # linear, in pauses (before ducking and fades); 0: no bed
    energy: np.ndarray  # its block energies on the gating grid, ducked and faded


@dataclass(frozen=True)
class VoiceGain:
    gain_db: float
    limited: frozenset[str]  # line ids the true-peak limiter has to touch at this gain
    predicted_lufs: float  # of the PCM (before the MP3's level change)

    @property
    def gain(self) -> float:
        return db_to_gain(self.gain_db)


def place_cues(timeline: Timeline, settings: MixSettings, frame: _Frame) -> PlacedCues:
    """Every cue at its fixed level relative to the target."""
    energy = np.zeros(frame.grid.size)
    placed: list[Placed] = []
    for start, kind in cue_placements(timeline, settings):
        samples = cue(kind, frame.rate)
        lufs, energies = _cue_figures(kind, frame.rate)
        gain_db = frame.target - _CUE_BELOW[kind] - lufs - 10 * np.log10(frame.duplicate)
        placed.append(Placed(start, samples, db_to_gain(gain_db)))
        scale = frame.duplicate * 10 ** (gain_db / 10)
        frame.grid.add(energy, start, energies * scale)
    return PlacedCues(tuple(placed), energy)


@cache
def _cue_figures(kind: str, rate_hz: int) -> tuple[float, np.ndarray]:
    """A cue's loudness (LUFS, at peak 1) and its 400 ms block energies: measured once per
    kind in a process, not at each of its places (a session has dozens)."""
    energies = block_energies(cue(kind, rate_hz), rate_hz)
    energies.setflags(write=False)
    return energy_to_lufs(gated_mean(energies)[0]), energies


def bed_energies(spec: BedSpec, rate: int, channels: int, seed: int, frames: int) -> np.ndarray:
    """The K-weighted 400 ms block energies of the bed's first `frames`, rendered as a session
    renders it (BLOCK_FRAMES at a time)."""
    calibration = make_bed(spec, rate, channels, seed)
    sizes = [min(BLOCK_FRAMES, frames - s) for s in range(0, frames, BLOCK_FRAMES)]
    return stream_block_energies((calibration.render(n) for n in sizes), rate)


def calibrate_bed(
    timeline: Timeline, settings: MixSettings, frame: _Frame, measure: BedEnergies = bed_energies
) -> CalibratedBed:
    """The bed measured on a stretch of itself, then set bed_level_lu under the target."""
    spec = resolve(settings.background)
    silent = CalibratedBed(spec, 0.0, np.zeros(frame.grid.size))
    if spec.name == "none" and spec.path is None:
        return silent
    # the session's own frames (same seed): exact for short sessions, where the bed may decide
    # the gating; a representative stretch for long ones
    rate, frames = frame.rate, timeline.total
    if frames > BED_CALIBRATE_ALL_S * rate:
        frames = round(BED_CALIBRATION_S * rate)
    energies = measure(spec, rate, frame.channels, settings.seed, frames)
    # the bed's own integrated loudness (what ebur128 would read of the bed alone) sits
    # bed_level_lu under the target, and its loud moments (the 90th percentile of 400 ms
    # blocks: a wave's crest) at most BED_CREST_LU closer to the voice than that
    bed_lufs = energy_to_lufs(gated_mean(energies)[0])
    if energies.size:
        crest = energy_to_lufs(float(np.percentile(energies, 90))) - BED_CREST_LU
        bed_lufs = max(bed_lufs, crest)
    if bed_lufs <= -100:
        return silent
    gain = db_to_gain(frame.target - settings.bed_level_lu - bed_lufs)
    power = frame.grid.mean_power(bed_envelope, speech_spans(timeline), timeline.total)
    return CalibratedBed(spec, gain, np.resize(energies, frame.grid.size) * power * gain**2)


def solve_voice_gain(
    timeline: Timeline, clips: Mapping[str, VoiceClip], frame: _Frame, fixed: np.ndarray
) -> VoiceGain:
    """The voice gain that lands the gated whole (voice + `fixed` cues and bed) on the target.

    Solve, limit the lines that now peak over the ceiling, and solve again with what the
    limiter left of them: limiting lowers loudness, and a quieter voice can let bed blocks
    through the relative gate, so the gain is refined until it stops moving."""
    lines = timeline.of_kind("line")
    ceiling_db = TRUE_PEAK_CEILING_DBTP
    unit: dict[str, np.ndarray] = {}  # line id -> block energies of its limited version, at 0 dB

    def over(gain_db: float) -> frozenset[str]:
        peaks = {e.ref: clips[e.ref].loudness.true_peak_db for e in lines}
        return frozenset(ref for ref, peak in peaks.items() if peak + gain_db > ceiling_db)

    def limited_unit(line_id: str, gain_db: float) -> np.ndarray:
        clip = clips[line_id]
        sound = Placed(0, clip.samples, db_to_gain(gain_db), db_to_gain(ceiling_db),
                       clip.peak_envelope())  # fmt: skip
        return block_energies(sound.played(frame.rate), frame.rate) * 10 ** (-gain_db / 10)

    voice_db, voice_energy = 0.0, np.zeros(frame.grid.size)
    for _ in range(LIMITER_PASSES):
        voice_energy = np.zeros(frame.grid.size)
        for e in lines:
            energies = unit.get(e.ref, clips[e.ref].energies)
            frame.grid.add(voice_energy, e.start, energies * frame.duplicate)
        previous = voice_db
        voice_db = _solve(voice_energy, fixed, frame.target) if lines else 0.0
        loud = over(voice_db)
        if not loud or abs(voice_db - previous) < 0.05:
            break  # (what the limiter would leave is only needed for another round)
        unit = {ref: limited_unit(ref, voice_db) for ref in loud}
    predicted = energy_to_lufs(gated_mean(voice_energy * 10 ** (voice_db / 10) + fixed)[0])
    return VoiceGain(voice_db, over(voice_db), predicted)


def _solve(voice: np.ndarray, fixed: np.ndarray, target: float) -> float:
    """The voice gain (dB) at which the gated programme voice * gain + fixed has integrated
    loudness `target` (bisection: loudness only grows with the voice gain)."""
    low, high = -60.0, 60.0
    for _ in range(40):
        mid = (low + high) / 2
        lufs = energy_to_lufs(gated_mean(voice * 10 ** (mid / 10) + fixed)[0])
        low, high = (mid, high) if lufs < target else (low, mid)
    return (low + high) / 2


_CUE_BELOW = {
    "chime": CHIME_BELOW_VOICE_LU,
    "section": SECTION_CHIME_BELOW_VOICE_LU,
    "tense": TONE_BELOW_VOICE_LU,
    "release": TONE_BELOW_VOICE_LU,
}


class _Grid:
    """The session's BS.1770 gating blocks (400 ms, every 100 ms), to lay measured block
    energies of placed sounds onto."""

    def __init__(self, total: int, rate: int) -> None:
        self.step, self.block, self.rate = round(STEP_S * rate), round(BLOCK_S * rate), rate
        self.size = max(0, (total - self.block) // self.step + 1)
        self.centres = np.arange(self.size, dtype=np.int64) * self.step + self.block // 2

    def mean_power(self, envelope, speech: np.ndarray, total: int) -> np.ndarray:
        """Mean square of a gain `envelope(frames, speech, total, rate)` over each block,
        from the envelope sampled every 10 ms."""
        hop = self.step // 10
        points = np.arange(0, total, hop, dtype=np.int64)
        square = envelope(points, speech, total, self.rate) ** 2
        sums = np.concatenate([np.zeros(1), np.cumsum(square)])
        starts = np.arange(self.size) * 10
        ends = np.minimum(starts + self.block // hop, square.size)
        return (sums[ends] - sums[starts]) / np.maximum(ends - starts, 1)

    def add(self, into: np.ndarray, start: int, energies: np.ndarray) -> None:
        """Add a sound's block energies (its own grid starts at `start`) onto the nearest
        session blocks."""
        first = round(start / self.step)
        index = np.arange(first, first + energies.size)
        keep = index < self.size
        np.add.at(into, index[keep], energies[keep])
