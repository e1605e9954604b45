"""Script + clip lengths -> Timeline: exact sample positions for the requested length.

Pure: no audio, no files. Fixed pauses (the 5 s hold) never change; elastic pauses move
together from their default towards their min or max, by the same fraction of their room, so
the timeline lands on the target to the sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .errors import FitError
from .template import Cue, Line, Pause, Script

EventKind = Literal["line", "pause", "cue"]


@dataclass(frozen=True)
class Event:
    """Something at a sample position: a spoken line, a silence, or a cue (length 0)."""

    kind: EventKind
    start: int  # frames from the session start
    length: int  # frames
    ref: str  # line id, pause kind or cue name
    section: str

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
        """Rounded inwards to 0.1 min, so any length in the stated range is really reachable."""
        low = math.ceil(self.low / rate_hz / 6) / 10
        high = math.floor(self.high / rate_hz / 6) / 10
        return f"{low:.1f} to {high:.1f} min"


def reachable(script: Script, clip_frames: Mapping[str, int], rate_hz: int) -> Range:
    fixed, pauses = _parts(script, clip_frames, rate_hz)
    return Range(fixed + sum(p[0] for p in pauses), fixed + sum(p[2] for p in pauses))


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
    span = reachable(script, clip_frames, rate_hz)
    if not span.low <= target <= span.high:
        who = label or script.name
        raise FitError(
            f"{target_s / 60:g} min is out of reach: {who} can make {span.describe(rate_hz)}"
        )
    fixed, pauses = _parts(script, clip_frames, rate_hz)
    lengths = _spread(pauses, target - fixed)

    events: list[Event] = []
    chapters: list[Chapter] = []
    position, elastic = 0, iter(lengths)
    for section in script.sections:
        chapters.append(Chapter(section.id, section.title, position))
        for step in section.steps:
            if isinstance(step, Line):
                length, kind, ref = clip_frames[step.id], "line", step.id
            elif isinstance(step, Pause):
                length = _frames(step.min_s, rate_hz) if step.fixed else next(elastic)
                kind, ref = "pause", step.kind
            else:
                assert isinstance(step, Cue)
                length, kind, ref = 0, "cue", step.name
            events.append(Event(kind, position, length, ref, section.id))
            position += length
    return Timeline(rate_hz, position, tuple(events), tuple(chapters))


def _frames(seconds: float, rate_hz: int) -> int:
    return round(seconds * rate_hz)


def _parts(
    script: Script, clip_frames: Mapping[str, int], rate_hz: int
) -> tuple[int, list[tuple[int, int, int]]]:
    """Frames that can't move, and (min, default, max) frames of each elastic pause in order."""
    fixed, elastic = 0, []
    for section in script.sections:
        for step in section.steps:
            if isinstance(step, Line):
                fixed += clip_frames[step.id]
            elif isinstance(step, Pause):
                if step.fixed:
                    fixed += _frames(step.min_s, rate_hz)
                else:
                    low = math.ceil(step.min_s * rate_hz)
                    high = math.floor(step.max_s * rate_hz)
                    elastic.append(
                        (low, min(max(_frames(step.default_s, rate_hz), low), high), high)
                    )
    return fixed, elastic


def _spread(pauses: list[tuple[int, int, int]], total: int) -> list[int]:
    """Integer pause lengths within bounds that add up to `total` exactly.

    Each pause moves from its default by the same fraction of its room in that direction;
    the frames lost to rounding go to the pauses with the largest remainders.
    """
    defaults = sum(p[1] for p in pauses)
    need = total - defaults
    rooms = [(high - default) if need >= 0 else (default - low) for low, default, high in pauses]
    room = sum(rooms)
    fraction = abs(need) / room if room else 0.0
    sign = 1 if need >= 0 else -1
    exact = [p[1] + sign * fraction * r for p, r in zip(pauses, rooms, strict=True)]
    lengths = [math.floor(x) if sign > 0 else math.ceil(x) for x in exact]
    short = total - sum(lengths)  # > 0 when stretching, < 0 when shrinking
    order = sorted(range(len(exact)), key=lambda i: abs(exact[i] - lengths[i]), reverse=True)
    for i in order[: abs(short)]:
        lengths[i] += 1 if short > 0 else -1
    return lengths
