"""The bed as the session hears it, block by block: the plan's gain, ducked and faded.

`SessionBed` is the one place the bed's stream is drawn for a session, shared by the renderer
(pipeline/render.py, which lays narration and cues over it) and the background preview. Any
block can be drawn on its own (`block(start, n)`): the bed and its envelope depend only on
absolute frame positions, so a block is bit-identical however and wherever it is rendered.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..fit import Timeline
from ..tuning import BLOCK_FRAMES, FADE_OUT_S
from .backgrounds import make_bed
from .envelope import bed_block_envelope, speech_spans
from .mix import MixScore


def block_spans(total: int, block_frames: int = BLOCK_FRAMES) -> Iterator[tuple[int, int]]:
    """(first frame, frames) of each block of a session of `total` frames."""
    for start in range(0, total, block_frames):
        yield start, min(block_frames, total - start)


class SessionBed:
    """(frames, channels) float32 blocks of the bed at its planned level: ducked under the
    timeline's lines and faded in and out."""

    def __init__(self, timeline: Timeline, plan: MixScore) -> None:
        self.timeline, self.plan = timeline, plan
        self.speech = speech_spans(timeline)
        self.fade_out_s = timeline.fade_out_s or FADE_OUT_S
        self.bed = make_bed(plan.bed, timeline.rate_hz, plan.channels, plan.seed)

    def block(self, start: int, n: int) -> np.ndarray:
        if self.plan.bed_gain <= 0:
            return np.zeros((n, self.plan.channels), dtype=np.float32)
        layer = self.bed.block(start, n)
        timeline = self.timeline
        gain = bed_block_envelope(
            start, n, self.speech, timeline.total, timeline.rate_hz, self.fade_out_s
        )
        if gain is None:  # no line near and no fade: the plain level
            layer *= np.float32(self.plan.bed_gain)
        else:
            gain *= self.plan.bed_gain  # (a fresh array of ours: scaled in place)
            per_channel(np.multiply, layer, gain.astype(np.float32))
        return layer


def per_channel(ufunc: np.ufunc, block: np.ndarray, mono: np.ndarray) -> None:
    """`ufunc(block, mono[:, None], out=block)` one channel at a time: the same float32 bits,
    but numpy broadcasts a column over a (frames, 2) block with an inner loop two samples long,
    several times slower than a loop down each channel."""
    for channel in range(block.shape[1]):
        column = block[:, channel]
        ufunc(column, mono, out=column)


def bed_blocks(
    timeline: Timeline, plan: MixScore, block_frames: int = BLOCK_FRAMES
) -> Iterator[np.ndarray]:
    """The session's bed, block after block (see `SessionBed`)."""
    bed = SessionBed(timeline, plan)
    for start, n in block_spans(timeline.total, block_frames):
        yield bed.block(start, n)
