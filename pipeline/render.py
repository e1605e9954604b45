"""Timeline + MixScore -> a stream of PCM blocks, or any one block.

The session is never held whole: `render_blocks` yields (frames, channels) float32 blocks of a
fixed size (the last one shorter). Narration and cues are placed from absolute sample
positions over the bed (pipeline/sound/layers.py), whose noise, tones and envelope depend only
on absolute positions too, so `Renderer.block(start, n)` gives the same block bit for bit in
any order, alone or in another process: a session can be rendered in chunks. Every gain comes
from the MixScore decided before the first block (pipeline/sound/mix.py), so memory stays flat
however long the session is. This module depends on pipeline.sound; nothing in pipeline.sound
imports it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

import numpy as np

from .fit import Timeline
from .sound.backgrounds import BACKGROUNDS
from .sound.layers import SessionBed, block_spans, per_channel
from .sound.mix import MixScore, Placed
from .tuning import BLOCK_FRAMES

__all__ = ["BACKGROUNDS", "Renderer", "render_blocks"]


def render_blocks(
    timeline: Timeline, plan: MixScore, block_frames: int = BLOCK_FRAMES
) -> Iterator[np.ndarray]:
    """Yield the mixed session block by block, (frames, channels) float32: narration and cues
    at the plan's gains over the ducked, faded bed, held under the plan's sample ceiling."""
    renderer = Renderer(timeline, plan)
    for start, n in block_spans(timeline.total, block_frames):
        yield renderer.block(start, n)


class Renderer:
    """Frames [start, start + n) of the mixed session, `block(start, n)`, in any order."""

    def __init__(self, timeline: Timeline, plan: MixScore) -> None:
        self.plan = plan
        self.sounds = _Sounds(plan.sounds, timeline.rate_hz)
        self.bed = SessionBed(timeline, plan)

    def block(self, start: int, n: int) -> np.ndarray:
        block = self.bed.block(start, n)
        voice = self.sounds.mono(start, n)
        if voice is not None:
            per_channel(np.add, block, voice)
        np.clip(block, -self.plan.ceiling, self.plan.ceiling, out=block)
        return block


class _Sounds:
    """The plan's placed sounds, mixed into mono stretches (a limited sound is limited whole
    when a block first needs it, and kept until a block past its end, so any order works)."""

    def __init__(self, sounds: tuple[Placed, ...], rate_hz: int) -> None:
        self.sounds, self.rate_hz = sounds, rate_hz
        self.starts = [s.start for s in sounds]
        self.longest = max((s.samples.shape[0] for s in sounds), default=0)
        self.playing: dict[int, np.ndarray] = {}  # limited sounds being played: computed once

    def mono(self, block_start: int, n: int) -> np.ndarray | None:
        """The sounds over frames [block_start, block_start + n), or None where there are none."""
        voice = None
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
            if voice is None:
                voice = np.zeros(n, dtype=np.float32)
            voice[lo - block_start : hi - block_start] += part
        for index in [i for i in self.playing if self.sounds[i].end <= block_start + n]:
            del self.playing[index]
        return voice
