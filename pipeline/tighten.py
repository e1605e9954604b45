"""A session asked shorter than a routine can make at its pace: read a little faster instead.

Pure: the clip lengths are scaled as a faster reading would make them (speech / factor is
the engine's pace, phrase pauses x factor), and the fitter's own reach says whether the
shortest shape then fits. The build narrates again at that pace; `pmr plan` estimates with it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .errors import FitError
from .fit import Range, reachable
from .template import Script
from .tuning import CLIP_PAD_S


def scaled(frames: Mapping[str, int], lines: Collection[str], scale: float, rate_hz: int):
    """Clip lengths with the speaking time of `lines` scaled (their fixed pads kept)."""
    pad = round(2 * CLIP_PAD_S * rate_hz)
    return {i: pad + round((n - pad) * scale) if i in lines else n for i, n in frames.items()}


def tighter(
    script: Script, frames: Mapping[str, int], lines: Collection[str], rate_hz: int,
    target_s: float, pace: float,
) -> float | None:  # fmt: skip
    """When `target_s` is shorter than the routine can make with these clips, the factor to
    scale the speaking time of `lines` (the synthetic ones) by so that the shortest shape
    fits with a second to spare; None when it already fits, or when even the voice's own pace
    (`pace`, the routine's factor, back to 1) would not make it fit."""
    target = round(target_s * rate_hz)
    if reachable(script, frames, rate_hz).low <= target:
        return None

    def fits(scale: float) -> bool:
        return reachable(script, scaled(frames, lines, scale, rate_hz), rate_hz).low <= (
            target - rate_hz
        )

    floor = min(1.0, pace)  # back to the voice's own pace, no faster
    if not fits(floor):
        return None
    lo, hi = floor, 1.0
    for _ in range(20):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def check_reach(
    script: Script, frames: Mapping[str, int], lines: Collection[str], rate_hz: int,
    target_s: float, pace: float, label: str,
) -> None:  # fmt: skip
    """A length too short even when read faster: the error names what can be made, from the
    fastest reading's shortest session to the routine's own pace's longest."""
    fastest = reachable(script, scaled(frames, lines, min(1.0, pace), rate_hz), rate_hz)
    if round(target_s * rate_hz) < fastest.low:
        high = reachable(script, frames, rate_hz).high
        raise FitError(
            f"{target_s / 60:g} min is out of reach: {label} can make "
            f"{Range(fastest.low, high).describe(rate_hz)}"
        )
