"""The bed as the session hears it, block by block: the plan's gain, ducked and faded.

`bed_blocks` is the one place the bed's stream is drawn for a session, shared by the renderer
(pipeline/render.py, which lays narration and cues over it) and the background preview.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..fit import Timeline
from ..tuning import BLOCK_FRAMES, FADE_OUT_S
from .backgrounds import make_bed
from .mix import MixScore, bed_envelope, speech_spans


def block_spans(total: int, block_frames: int = BLOCK_FRAMES) -> Iterator[tuple[int, int]]:
    """(first frame, frames) of each block of a session of `total` frames."""
    for start in range(0, total, block_frames):
        yield start, min(block_frames, total - start)


def bed_blocks(
    timeline: Timeline, plan: MixScore, block_frames: int = BLOCK_FRAMES
) -> Iterator[np.ndarray]:
    """(frames, channels) float32 blocks of the bed at its planned level: ducked under the
    timeline's lines and faded in and out. The bed's generator is always drawn, so its stream
    never depends on the gains (the same seed gives the same noise at any level)."""
    rate, channels = timeline.rate_hz, plan.channels
    speech = speech_spans(timeline)
    fade_out_s = timeline.fade_out_s or FADE_OUT_S
    bed = make_bed(plan.bed, rate, channels, plan.seed)
    for start, n in block_spans(timeline.total, block_frames):
        layer = bed.render(n)
        if plan.bed_gain <= 0:
            yield np.zeros((n, channels), dtype=np.float32)
            continue
        frames = np.arange(start, start + n, dtype=np.int64)
        gain = bed_envelope(frames, speech, timeline.total, rate, fade_out_s) * plan.bed_gain
        yield layer * gain.astype(np.float32)[:, None]
