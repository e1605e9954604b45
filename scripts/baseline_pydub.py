"""The usual peer approach, for comparison in `make bench`: concatenate clips and silences with
pydub's `+`, overlay a looped background, export. Whole session in memory, integer-ms time.

Usage: baseline_pydub.py ROUTINE MINUTES OUT.mp3   (narration must already be cached)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from pydub import AudioSegment

from pipeline.build import BuildOptions
from pipeline.encode import ffmpeg_exe
from pipeline.fit import fit
from pipeline.narration import ClipCache, default_cache_dir, load_voice, narrate
from pipeline.sound.backgrounds import make_bed, resolve
from pipeline.template import load_script
from pipeline.tuning import MP3_BITRATE, SAMPLE_RATE_HZ


def segment(mono: np.ndarray, channels: int = 2) -> AudioSegment:
    pcm = (np.clip(mono, -1, 1) * 32767).astype("<i2")
    if channels == 2 and pcm.ndim == 1:
        pcm = np.repeat(pcm[:, None], 2, axis=1)
    return AudioSegment(pcm.tobytes(), frame_rate=SAMPLE_RATE_HZ, sample_width=2, channels=channels)


def main(routine: str, minutes: float, out: Path) -> None:
    AudioSegment.converter = ffmpeg_exe()
    options = BuildOptions(routine=routine, minutes=minutes)
    script = load_script(options.routine)
    clips = narrate(
        script, load_voice(options.voice), ClipCache(default_cache_dir()), SAMPLE_RATE_HZ
    )
    timeline = fit(script, clips.frames, SAMPLE_RATE_HZ, minutes * 60)
    session = AudioSegment.empty()
    for event in timeline.events:
        if event.kind == "line":
            session += segment(np.asarray(clips.load(event.ref)))
        elif event.kind == "pause":
            session += AudioSegment.silent(event.length * 1000 // SAMPLE_RATE_HZ, SAMPLE_RATE_HZ)
    bed = make_bed(resolve("pad"), SAMPLE_RATE_HZ, 2).render(30 * SAMPLE_RATE_HZ) * 0.05
    loop = segment(bed, channels=2)
    session = session.set_channels(2).overlay(loop, loop=True).fade_in(3000).fade_out(6000)
    session.export(out, format="mp3", bitrate=MP3_BITRATE)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), Path(sys.argv[3]))
