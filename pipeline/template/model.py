"""What a routine template expands to: ordered lines, pauses with bounds, cues, sections."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # routine, section and repeat ids


@dataclass(frozen=True)
class Line:
    """One spoken line; `id` is stable across edits so recordings and caches can follow it."""

    id: str
    text: str


@dataclass(frozen=True)
class Pause:
    """Silence between lines, in seconds: fixed when min == max (the 5 s hold), else elastic."""

    kind: str
    min_s: float
    default_s: float
    max_s: float
    weight: float = 1.0  # how fast it stretches or shrinks against the other elastic pauses

    @property
    def fixed(self) -> bool:
        return self.min_s == self.max_s


@dataclass(frozen=True)
class Cue:
    """A sound (e.g. a chime) mixed in at this point; it takes no time of its own."""

    name: str


Step = Line | Pause | Cue


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Repeat:
    """Sections `first`..`last` (indices, inclusive) may run up to `times` times in a row for
    long sessions; `lead` (a section of plain steps, or None) opens every extra run."""

    id: str
    first: int
    last: int
    times: int
    lead: Section | None = None


@dataclass(frozen=True)
class Script:
    """An expanded routine: everything the narrator and the fitter need, nothing about audio.

    `drop` names the optional sections in the order the fitter leaves them out for short
    sessions; `repeats` the runs it may add for long ones (see fit.py).
    """

    name: str
    title: str
    language: str
    description: str
    sections: tuple[Section, ...]
    drop: tuple[str, ...] = ()
    repeats: tuple[Repeat, ...] = ()
    fade_out_s: float | None = None  # the routine's own final fade (sleep: long), else default

    def lines(self) -> Iterator[Line]:
        leads = tuple(r.lead for r in self.repeats if r.lead is not None)
        for section in self.sections + leads:
            for step in section.steps:
                if isinstance(step, Line):
                    yield step

    @property
    def muscle_groups(self) -> int:
        """How many sections run through the tense-and-release cycle (have a `.tense` line)."""
        tensed = {line.id.partition(".")[0] for line in self.lines() if line.id.endswith(".tense")}
        return sum(1 for section in self.sections if section.id in tensed)
