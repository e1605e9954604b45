"""Timeline + narration + background -> a stream of PCM blocks.

The session is never held whole: `render_blocks` yields (frames, channels) float32 blocks of a
fixed size (the last one shorter). Narration, cues, ducking and fades are computed from
absolute sample positions; the bed is a generator that carries its filter state from block to
block (pipeline/sound/backgrounds.py). Every gain comes from a MixScore decided before the first
block (pipeline/sound/mix.py), so memory stays flat however long the session is.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator

import numpy as np

from .fit import Timeline
from .sound.backgrounds import BACKGROUNDS, make_bed
from .sound.loudness import block_energies, measure
from .sound.mix import MixScore, MixSettings, bed_envelope, score_mix, speech_spans
from .sound.voice import VoiceClip, condition
from .tuning import BLOCK_FRAMES, FADE_OUT_S

__all__ = ["BACKGROUNDS", "render_blocks"]

LoadClip = Callable[[str], np.ndarray]


def render_blocks(
    timeline: Timeline,
    load_clip: LoadClip,
    background: str = "pad",
    block_frames: int = BLOCK_FRAMES,
    *,
    plan: MixScore | None = None,
) -> Iterator[np.ndarray]:
    """Yield the mixed session block by block, (frames, channels) float32: narration and cues
    at the plan's gains over a ducked, faded bed. Without a plan, one is made for the
    podcast preset from clips measured in memory (the build passes a plan from cached clips)."""
    if plan is None:
        plan = score_mix(timeline, _measured(timeline, load_clip), MixSettings(background))
    rate, channels = timeline.rate_hz, plan.channels
    sounds = plan.sounds
    starts = [s.start for s in sounds]
    longest = max((s.samples.shape[0] for s in sounds), default=0)
    speech = speech_spans(timeline)
    bed = make_bed(plan.bed, rate, channels, plan.seed)

    playing: dict[int, np.ndarray] = {}  # limited sounds being played: computed once each
    for block_start in range(0, timeline.total, block_frames):
        n = min(block_frames, timeline.total - block_start)
        frames = np.arange(block_start, block_start + n, dtype=np.int64)
        voice = np.zeros(n, dtype=np.float32)
        first = bisect.bisect_left(starts, block_start - longest)
        for index in range(first, bisect.bisect_left(starts, block_start + n)):
            sound = sounds[index]
            lo, hi = max(sound.start, block_start), min(sound.end, block_start + n)
            if lo >= hi:
                continue
            if sound.limit_to > 0:
                if index not in playing:
                    playing[index] = sound.played(rate)
                part = playing[index][lo - sound.start : hi - sound.start]
            else:
                part = sound.samples[lo - sound.start : hi - sound.start] * np.float32(sound.gain)
            voice[lo - block_start : hi - block_start] += part
        for index in [i for i in playing if sounds[i].end <= block_start + n]:
            del playing[index]
        block = np.repeat(voice[:, None], channels, axis=1)
        layer = bed.render(n)  # always drawn, so the bed's stream never depends on the gains
        if plan.bed_gain > 0:
            gain = bed_envelope(
                frames, speech, timeline.total, rate, timeline.fade_out_s or FADE_OUT_S
            )
            block += layer * (gain * plan.bed_gain).astype(np.float32)[:, None]
        np.clip(block, -plan.ceiling, plan.ceiling, out=block)
        yield block


def _measured(timeline: Timeline, load_clip: LoadClip) -> dict[str, VoiceClip]:
    """Conditioned clips measured in memory, for callers without a clip cache."""
    rate = timeline.rate_hz
    out: dict[str, VoiceClip] = {}
    for e in timeline.of_kind("line"):
        if e.ref not in out:
            samples = condition(np.asarray(load_clip(e.ref)), rate)
            out[e.ref] = VoiceClip(samples, measure(samples, rate), block_energies(samples, rate))
    return out
