"""Timeline + MixScore -> a stream of PCM blocks.

The session is never held whole: `render_blocks` yields (frames, channels) float32 blocks of a
fixed size (the last one shorter). Narration and cues are placed from absolute sample
positions over the bed's stream (pipeline/sound/layers.py), whose generator carries its filter
state from block to block. Every gain comes from the MixScore decided before the first block
(pipeline/sound/mix.py), so memory stays flat however long the session is. This module depends
on pipeline.sound; nothing in pipeline.sound imports it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

import numpy as np

from .fit import Timeline
from .sound.backgrounds import BACKGROUNDS
from .sound.layers import bed_blocks, block_spans
from .sound.mix import MixScore, Placed
from .tuning import BLOCK_FRAMES

__all__ = ["BACKGROUNDS", "render_blocks"]


def render_blocks(
    timeline: Timeline, plan: MixScore, block_frames: int = BLOCK_FRAMES
) -> Iterator[np.ndarray]:
    """Yield the mixed session block by block, (frames, channels) float32: narration and cues
    at the plan's gains over the ducked, faded bed, held under the plan's sample ceiling."""
    sounds = _Sounds(plan.sounds, timeline.rate_hz)
    beds = bed_blocks(timeline, plan, block_frames)
    for (start, n), bed in zip(block_spans(timeline.total, block_frames), beds, strict=True):
        block = bed + sounds.mono(start, n)[:, None]
        np.clip(block, -plan.ceiling, plan.ceiling, out=block)
        yield block


class _Sounds:
    """The plan's placed sounds, mixed into mono stretches in increasing order of time."""

    def __init__(self, sounds: tuple[Placed, ...], rate_hz: int) -> None:
        self.sounds, self.rate_hz = sounds, rate_hz
        self.starts = [s.start for s in sounds]
        self.longest = max((s.samples.shape[0] for s in sounds), default=0)
        self.playing: dict[int, np.ndarray] = {}  # limited sounds being played: computed once

    def mono(self, block_start: int, n: int) -> np.ndarray:
        voice = np.zeros(n, dtype=np.float32)
        first = bisect.bisect_left(self.starts, block_start - self.longest)
        for index in range(first, bisect.bisect_left(self.starts, block_start + n)):
            sound = self.sounds[index]
            lo, hi = max(sound.start, block_start), min(sound.end, block_start + n)
            if lo >= hi:
                continue
            if sound.limit_to > 0:
                if index not in self.playing:
                    self.playing[index] = sound.played(self.rate_hz)
                part = self.playing[index][lo - sound.start : hi - sound.start]
            else:
                part = sound.samples[lo - sound.start : hi - sound.start] * np.float32(sound.gain)
            voice[lo - block_start : hi - block_start] += part
        for index in [i for i in self.playing if self.sounds[i].end <= block_start + n]:
            del self.playing[index]
        return voice
