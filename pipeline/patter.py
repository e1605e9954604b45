"""Patter: guidance lines placed inside a long fitted pause. Pure, frames in and out.

A guide fills a long session with guidance, not with longer silences. When a fitted pause
that carries a pool runs longer than the routine's `max_silence`, the fewest lines of the pool
that bring every gap down to it are spaced evenly inside the pause: equal gaps before, between
and after them, none shorter than `PATTER_LEAD_S`, and the first at least the pause's own
minimum (a relax keeps its 15 s to notice the difference before any guidance comes; then the
gaps after it are equal). The pause keeps its fitted length to the frame, so the timeline
stays exact. Lines rotate through the pool in order over the whole session: no line comes
back before every other one has been said.
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
    quiet_s: float = 0.0,
) -> list[tuple[str, int]]:
    """The pause of `length` frames as ('', gap) and (line id, clip) pieces adding up to it.

    The first gap lasts at least `quiet_s` (the pause's own minimum: a relax keeps its 15 s to
    notice the difference before any guidance comes); the gaps after it are equal. One piece
    ('', length) when the pause is short enough or no line fits.
    """
    longest, lead = round(max_silence_s * rate_hz), round(PATTER_LEAD_S * rate_hz)
    head = max(min(round(quiet_s * rate_hz), length), lead)
    pool_size = len(rotation.pools.get(pool, ()))  # an unknown pool: no patter
    chosen: list[Line] = []
    spacing: list[int] = []  # the gaps around the chosen lines
    count = 0
    while length > longest and pool_size and count <= length // max(lead, 1):
        count += 1
        lines = rotation.peek(pool, count)
        silence = length - sum(clip_frames[x.id] for x in lines)
        if silence < head or min(gaps := _gaps(silence, count, head)) < lead:
            break
        chosen, spacing = lines, gaps
        if max(gaps) <= max(longest, head):
            break
    if not chosen:
        return [("", length)]
    rotation.take(pool, len(chosen))
    pieces: list[tuple[str, int]] = [("", spacing[0])]
    for line, gap in zip(chosen, spacing[1:], strict=True):
        pieces += [(line.id, clip_frames[line.id]), ("", gap)]
    return pieces


def _gaps(silence: int, count: int, head: int) -> list[int]:
    """`count + 1` gaps adding up to `silence` frames: equal when that leaves the first at
    least `head`, else the first is `head` and the rest share what is left equally (the
    frames left by rounding go to the first gaps). Needs `silence >= head`."""
    even = _split(silence, count + 1)
    if even[-1] >= head:
        return even
    return [head, *_split(silence - head, count)]


def _split(total: int, parts: int) -> list[int]:
    share, extra = divmod(total, parts)
    return [share + (index < extra) for index in range(parts)]
