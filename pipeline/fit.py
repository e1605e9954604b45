"""Script + clip lengths -> Timeline: exact sample positions for the requested length.

Pure: no audio, no files. Fitting has two steps:

1. Structure. The template's base structure is every section once. Shorter sessions leave out
   the optional sections (`[fit] drop`, first named first; essential sections never), but only
   when the pauses at their minimum can't make the length otherwise; longer ones add runs of
   the repeatable spans (`[[fit.repeat]]`, second runs of every span before third runs). Among
   the shapes with the fewest drops that reach the target, the one whose pauses move least
   from their defaults (as a share of their room) wins.
2. Pauses. Fixed pauses (the 5 s hold) never change. Elastic pauses fill the remaining time by
   water-filling: each one moves from its default by `weight x level` seconds, clamped to its
   min and max, with one common level solved exactly; the frames lost to rounding go to the
   pauses with the largest remainders, so the timeline lands on the target to the sample.
3. Patter. A fitted pause with a `patter` pool that runs longer than the routine's
   `max_silence` gets lines of its pool inside it (patter.py); its length doesn't change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import patter
from .errors import FitError
from .patter import Rotation
from .template import Cue, Line, Pause, Script, Section, Step

EventKind = Literal["line", "pause", "cue"]


@dataclass(frozen=True)
class Event:
    """Something at a sample position: a spoken line, a silence, or a cue (length 0)."""

    kind: EventKind
    start: int  # frames from the session start
    length: int  # frames
    ref: str  # line id, pause kind or cue name
    section: str  # chapter id: the section id, or 'id.N' for its N-th run

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class Chapter:
    id: str
    title: str
    start: int


@dataclass(frozen=True)
class Timeline:
    rate_hz: int
    total: int  # frames
    events: tuple[Event, ...]
    chapters: tuple[Chapter, ...]
    fade_out_s: float | None = None  # the routine's final fade, when it sets one (seconds)

    @property
    def seconds(self) -> float:
        return self.total / self.rate_hz

    def of_kind(self, kind: EventKind) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.kind == kind)


@dataclass(frozen=True)
class Range:
    """The shortest and longest session a script can make with given clips, in frames."""

    low: int
    high: int

    def describe(self, rate_hz: int) -> str:
        """Rounded inwards to 0.1 min (0.001 min for a narrow range), so any length in the
        stated range is really reachable."""
        for digits in (1, 3):
            scale = 60 / 10**digits  # seconds per step
            low = math.ceil(self.low / rate_hz / scale) * scale / 60
            high = math.floor(self.high / rate_hz / scale) * scale / 60
            if low <= high:
                return f"{low:.{digits}f} to {high:.{digits}f} min"
        return f"only {self.low / rate_hz / 60:.4f} min"


@dataclass(frozen=True)
class Structure:
    """Which optional sections are left out and how many runs each repeatable span gets."""

    dropped: frozenset[str]
    runs: tuple[int, ...]  # one per script.repeats entry, 1 = played once


@dataclass(frozen=True)
class Part:
    """One played section: a chapter of the timeline."""

    chapter: str
    title: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Budget:
    """A structure's fixed frames and its elastic pauses' bounds, as frame arrays."""

    structure: Structure
    parts: tuple[Part, ...]
    fixed: int
    low: np.ndarray
    default: np.ndarray
    high: np.ndarray
    weight: np.ndarray

    @property
    def span(self) -> Range:
        return Range(self.fixed + int(self.low.sum()), self.fixed + int(self.high.sum()))

    @property
    def natural(self) -> int:
        """The length with every pause at its default, in frames."""
        return self.fixed + int(self.default.sum())

    def strain(self, target: int) -> float:
        """How far the pauses must move for `target`: 0 at the defaults, 1 at min or max."""
        room = (self.span.high if target >= self.natural else self.span.low) - self.natural
        return abs(target - self.natural) / abs(room) if room else 0.0


def ladder(script: Script) -> list[Structure]:
    """Structures from shortest to longest: all drops ... none, then one added run at a time."""
    base_runs = tuple(1 for _ in script.repeats)
    shorter = [
        Structure(frozenset(script.drop[:count]), base_runs)
        for count in range(len(script.drop), 0, -1)
    ]
    longer, runs = [], list(base_runs)
    for run in range(2, max((r.times for r in script.repeats), default=1) + 1):
        for index, repeat in enumerate(script.repeats):
            if repeat.times >= run:
                runs[index] = run
                longer.append(Structure(frozenset(), tuple(runs)))
    return [*shorter, Structure(frozenset(), base_runs), *longer]


def parts(script: Script, structure: Structure) -> Iterator[Part]:
    """The sections in play order for a structure; an extra run repeats its span in place."""
    ends = {r.last: (r, n) for r, n in zip(script.repeats, structure.runs, strict=True)}

    def play(section: Section, run: int, lead: bool = False) -> Iterator[Part]:
        """A lead-in is titled as written for the second run ('Second round'), then numbered."""
        if section.id in structure.dropped:
            return
        if run == 1:
            yield Part(section.id, section.title, section.steps)
        else:
            title = section.title if lead and run == 2 else f"{section.title} ({run})"
            yield Part(f"{section.id}.{run}", title, section.steps)

    for index, section in enumerate(script.sections):
        yield from play(section, 1)
        repeat, runs = ends.get(index, (None, 1))
        for run in range(2, runs + 1):
            assert repeat is not None
            if repeat.lead is not None:
                yield from play(repeat.lead, run, lead=True)
            for again in script.sections[repeat.first : repeat.last + 1]:
                yield from play(again, run)


def spans(script: Script, clip_frames: Mapping[str, int], rate_hz: int) -> list[Range]:
    """Every length the script can make, as sorted disjoint ranges of frames."""
    merged: list[Range] = []
    for span in sorted((b.span for b in _budgets(script, clip_frames, rate_hz)), key=_bounds):
        if merged and span.low <= merged[-1].high + 1:
            merged[-1] = Range(merged[-1].low, max(merged[-1].high, span.high))
        else:
            merged.append(span)
    return merged


def reachable(script: Script, clip_frames: Mapping[str, int], rate_hz: int) -> Range:
    """The shortest and the longest session (there may be gaps between: see `spans`)."""
    every = spans(script, clip_frames, rate_hz)
    return Range(every[0].low, every[-1].high)


def describe_reach(script: Script, clip_frames: Mapping[str, int], rate_hz: int) -> str:
    """'9.5 to 48.0 min' (or several ranges joined by 'or' when the ladder has gaps)."""
    return " or ".join(s.describe(rate_hz) for s in spans(script, clip_frames, rate_hz))


def natural_seconds(script: Script, clip_frames: Mapping[str, int], rate_hz: int) -> float:
    """The routine as written: every section once, every pause at its default (seconds).

    A routine whose pauses are all fixed can only make this length; `[routine] minutes =
    "natural"` asks for it whatever the pauses.
    """
    base = Structure(frozenset(), tuple(1 for _ in script.repeats))
    return _budget(script, base, clip_frames, rate_hz).natural / rate_hz


def all_fixed(script: Script) -> bool:
    """True when no pause of the routine (lead-ins included) can stretch or shrink."""
    leads = tuple(r.lead for r in script.repeats if r.lead is not None)
    steps = (step for section in script.sections + leads for step in section.steps)
    return all(step.fixed for step in steps if isinstance(step, Pause))


def fit(
    script: Script,
    clip_frames: Mapping[str, int],
    rate_hz: int,
    target_s: float,
    label: str = "",
) -> Timeline:
    """Place every step so the session lasts exactly `target_s` seconds (rounded to a frame)."""
    if not math.isfinite(target_s) or target_s <= 0:
        raise FitError(f"length {target_s!r} s: give a positive number of minutes")
    target = round(target_s * rate_hz)
    budget = choose(script, clip_frames, rate_hz, target, label)
    lengths: Iterator[int] = iter(
        spread(
            budget.low, budget.default, budget.high, budget.weight, target - budget.fixed
        ).tolist()
    )
    return _place(script, budget.parts, clip_frames, rate_hz, lengths)


def _place(
    script: Script,
    played: tuple[Part, ...],
    clip_frames: Mapping[str, int],
    rate_hz: int,
    lengths: Iterator[int],
) -> Timeline:
    """Events at their frames; a long pause with a patter pool gets its lines (patter.py)."""
    rotation = Rotation(dict(script.patter))
    events: list[Event] = []
    chapters: list[Chapter] = []
    position = 0
    for part in played:
        chapters.append(Chapter(part.chapter, part.title, position))
        for step in part.steps:
            if isinstance(step, Line):
                pieces = [("line", step.id, clip_frames[step.id])]
            elif isinstance(step, Pause):
                length = _frames(step.min_s, rate_hz) if step.fixed else next(lengths)
                pieces = _pause_pieces(step, length, rotation, clip_frames, rate_hz, script)
            else:
                assert isinstance(step, Cue)
                pieces = [("cue", step.name, 0)]
            for kind, ref, length in pieces:
                events.append(Event(kind, position, length, ref, part.chapter))  # type: ignore[arg-type]
                position += length
    return Timeline(rate_hz, position, tuple(events), tuple(chapters), script.fade_out_s)


def _pause_pieces(
    step: Pause,
    length: int,
    rotation: Rotation,
    clip_frames: Mapping[str, int],
    rate_hz: int,
    script: Script,
) -> list[tuple[str, str, int]]:
    if step.patter is None or step.silent:
        return [("pause", step.kind, length)]
    pieces = patter.fill(
        length, step.patter, rotation, clip_frames, rate_hz, script.max_silence_s, step.min_s
    )
    return [("line", ref, n) if ref else ("pause", step.kind, n) for ref, n in pieces]


def choose(
    script: Script, clip_frames: Mapping[str, int], rate_hz: int, target: int, label: str = ""
) -> Budget:
    """The structure for `target` frames. Pauses shrink toward their minimum before any
    optional section is dropped: the fewest drops that can reach the target. Among the shapes
    with that many drops (the base and its added runs, when nothing is dropped), the one whose
    pauses move least from their defaults, as a share of their room (see `Budget.strain`)."""
    budgets = _budgets(script, clip_frames, rate_hz)
    feasible = [b for b in budgets if b.span.low <= target <= b.span.high]
    if feasible:
        fewest = min(len(b.structure.dropped) for b in feasible)
        feasible = [b for b in feasible if len(b.structure.dropped) == fewest]
    if not feasible:
        who = label or script.name
        raise FitError(
            f"{target / rate_hz / 60:g} min is out of reach: {who} can make "
            f"{describe_reach(script, clip_frames, rate_hz)}"
        )
    return min(feasible, key=lambda b: (b.strain(target), abs(b.natural - target)))


def spread(
    low: np.ndarray, default: np.ndarray, high: np.ndarray, weight: np.ndarray, total: int
) -> np.ndarray:
    """Integer pause lengths (frames) within [low, high] that add up to `total` exactly.

    Water-filling: length_i = clip(default_i + weight_i * t, low_i, high_i), where the level t
    solves sum(length) = total. That sum is piecewise linear and non-decreasing in t with
    breakpoints where a pause meets a bound, so t is found exactly between two breakpoints.
    Needs sum(low) <= total <= sum(high).
    """
    low, default, high = (np.asarray(a, dtype=np.int64) for a in (low, default, high))
    if low.size == 0:
        return low
    weight = np.asarray(weight, dtype=np.float64)
    levels = np.unique(np.concatenate([(low - default) / weight, (high - default) / weight, [0]]))
    sums = _filled(low, default, high, weight, levels)
    k = int(np.clip(np.searchsorted(sums, total, side="right") - 1, 0, len(levels) - 1))
    level = levels[k]
    if k + 1 < len(levels) and sums[k + 1] > sums[k]:
        level += (total - sums[k]) * (levels[k + 1] - levels[k]) / (sums[k + 1] - sums[k])
    exact = np.clip(default + weight * level, low, high)
    lengths = np.clip(np.floor(exact).astype(np.int64), low, high)
    remainder = exact - lengths
    short = int(total - lengths.sum())
    while short:  # rounding: one frame each to the largest remainders (a pass or two at most)
        if short > 0:
            room = np.flatnonzero(lengths < high)
            order = room[np.argsort(-remainder[room], kind="stable")][:short]
            lengths[order] += 1
        else:
            room = np.flatnonzero(lengths > low)
            order = room[np.argsort(remainder[room], kind="stable")][:-short]
            lengths[order] -= 1
        if order.size == 0:
            raise ValueError(f"spread: {total} frames is outside the pauses' bounds")
        remainder[order] = 0.0
        short = int(total - lengths.sum())
    return lengths


def _filled(
    low: np.ndarray, default: np.ndarray, high: np.ndarray, weight: np.ndarray, levels: np.ndarray
) -> np.ndarray:
    """sum(clip(default + weight * t, low, high)) for every t in `levels`, in O(n log n).

    A pause starts to move above t = (low - default) / weight and stops at
    t = (high - default) / weight; prefix sums over both sorted thresholds give, per level,
    the pauses already moving minus those already pinned at their max.
    """

    def moved(threshold: np.ndarray, base: np.ndarray) -> np.ndarray:
        """sum over pauses with threshold < t of (default + weight * t - base)."""
        order = np.argsort(threshold, kind="stable")
        offset = np.concatenate([[0.0], np.cumsum((default - base)[order], dtype=np.float64)])
        slope = np.concatenate([[0.0], np.cumsum(weight[order])])
        count = np.searchsorted(threshold[order], levels, side="left")
        return offset[count] + slope[count] * levels

    start = (low - default) / weight
    stop = (high - default) / weight
    return float(low.sum()) + moved(start, low) - moved(stop, high)


def _bounds(span: Range) -> tuple[int, int]:
    return span.low, span.high


def _frames(seconds: float, rate_hz: int) -> int:
    return round(seconds * rate_hz)


def _budgets(script: Script, clip_frames: Mapping[str, int], rate_hz: int) -> list[Budget]:
    return [_budget(script, s, clip_frames, rate_hz) for s in ladder(script)]


def _budget(
    script: Script, structure: Structure, clip_frames: Mapping[str, int], rate_hz: int
) -> Budget:
    """Frames that can't move, and the bounds and weight of each elastic pause in order."""
    played = tuple(parts(script, structure))
    fixed, bounds = 0, []
    for part in played:
        for step in part.steps:
            if isinstance(step, Line):
                fixed += clip_frames[step.id]
            elif isinstance(step, Pause):
                if step.fixed:
                    fixed += _frames(step.min_s, rate_hz)
                else:
                    low = math.ceil(step.min_s * rate_hz)
                    high = max(math.floor(step.max_s * rate_hz), low)
                    default = min(max(_frames(step.default_s, rate_hz), low), high)
                    bounds.append((low, default, high, step.weight))
    table = np.array(bounds, dtype=np.float64).reshape(-1, 4)
    low, default, high = (table[:, i].astype(np.int64) for i in range(3))
    return Budget(structure, played, fixed, low, default, high, table[:, 3])
