"""Patter: guidance lines placed inside a long fitted pause. Pure, frames in and out.

A guide fills a long session with guidance, not with longer silences. When a fitted pause
that carries a pool runs longer than the routine's `max_silence`, the fewest lines of the pool
that bring every gap down to it are spaced evenly inside the pause: equal gaps before, between
and after them, none shorter than `PATTER_LEAD_S` (so nothing is said in the first seconds
after a release, while the listener notices the difference). The pause keeps its fitted
length to the frame, so the timeline stays exact. Lines rotate through the pool in order over
the whole session: no line comes back before every other one has been said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .template import Line
from .tuning import PATTER_LEAD_S

PREFIX = "patter."  # patter line ids are 'patter.POOL.N'


def is_patter(line_id: str) -> bool:
    return line_id.startswith(PREFIX)


@dataclass
class Rotation:
    """Where each pool's rotation stands in one session (the fitter's only mutable state)."""

    pools: Mapping[str, tuple[Line, ...]]
    next_index: dict[str, int] = field(default_factory=dict)

    def peek(self, pool: str, count: int) -> list[Line]:
        lines = self.pools[pool]
        start = self.next_index.get(pool, 0)
        return [lines[(start + i) % len(lines)] for i in range(count)]

    def take(self, pool: str, count: int) -> None:
        self.next_index[pool] = self.next_index.get(pool, 0) + count


def fill(
    length: int,
    pool: str,
    rotation: Rotation,
    clip_frames: Mapping[str, int],
    rate_hz: int,
    max_silence_s: float,
) -> list[tuple[str, int]]:
    """The pause of `length` frames as ('', gap) and (line id, clip) pieces adding up to it.

    One piece ('', length) when the pause is short enough or no line fits.
    """
    longest, lead = round(max_silence_s * rate_hz), round(PATTER_LEAD_S * rate_hz)
    pool_size = len(rotation.pools.get(pool, ()))  # an unknown pool: no patter
    chosen: list[Line] = []
    count = 0
    while length > longest and pool_size:
        count += 1
        lines = rotation.peek(pool, count)
        gap = (length - sum(clip_frames[x.id] for x in lines)) // (count + 1)
        if gap < lead:
            break
        chosen = lines
        if gap <= longest or count > length // max(lead, 1):
            break
    if not chosen:
        return [("", length)]
    rotation.take(pool, len(chosen))
    return _spaced(length, [(x.id, clip_frames[x.id]) for x in chosen])


def _spaced(length: int, clips: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Equal gaps around the clips; the frames left by rounding go to the first gaps."""
    silence = length - sum(frames for _, frames in clips)
    gap, extra = divmod(silence, len(clips) + 1)
    pieces: list[tuple[str, int]] = []
    for index, clip in enumerate(clips):
        pieces += [("", gap + (index < extra)), clip]
    pieces.append(("", gap + (len(clips) < extra)))
    return pieces
