"""A background on its own, as an MP3: hear a bed before building a session with it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..encode import Mp3Writer, check_output_path
from ..errors import RenderError
from ..fit import Timeline
from .backgrounds import resolve
from .layers import bed_blocks
from .meter import Measured, measure_file
from .mix import MixSettings, score_mix

MAX_PREVIEW_S = 600.0


@dataclass(frozen=True)
class Preview:
    path: Path
    seconds: float
    measured: Measured | None


def default_preview_path(background: str) -> Path:
    name = re.sub(r"[^a-z0-9-]+", "-", resolve(background).name.lower()).strip("-")
    return Path("output") / f"preview-{name or 'background'}.mp3"


def preview(
    settings: MixSettings,
    seconds: float,
    out: Path,
    rate_hz: int,
    bitrate: str,
    measure: bool = True,
) -> Preview:
    """Render `seconds` of the bed alone, at the level it has in pauses of a session, faded
    in and out; the same generator and gains a build uses."""
    if not (seconds == seconds and 1.0 <= seconds <= MAX_PREVIEW_S):  # NaN != NaN
        raise RenderError(f"--seconds {seconds}: give 1 to {MAX_PREVIEW_S:g} seconds")
    check_output_path(out)
    timeline = Timeline(rate_hz, round(seconds * rate_hz), (), ())
    plan = score_mix(timeline, {}, settings)
    with Mp3Writer(out, rate_hz=rate_hz, channels=plan.channels, bitrate=bitrate) as mp3:
        for block in bed_blocks(timeline, plan):
            mp3.write(np.clip(block, -plan.ceiling, plan.ceiling))
    return Preview(out, timeline.seconds, measure_file(out) if measure else None)
