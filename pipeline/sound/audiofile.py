"""Short audio files (recorded takes, background files) read whole into a pydub AudioSegment.

ffmpeg decodes and resamples (one process, raw 32-bit PCM on a pipe: pydub's own `from_file`
would probe the file with ffprobe, which the imageio-ffmpeg binary lacks, and ffmpeg's
resampler beats pydub's); pydub holds the result and does the editing (trimming silence at
both ends), in memory: these files are seconds to minutes long. The session itself
never goes through here: it is streamed block by block.
"""

from __future__ import annotations

import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..encode import ffmpeg_exe

if TYPE_CHECKING:
    from pydub import AudioSegment

FULL_SCALE = 2**31  # 32-bit PCM


def _pydub():
    """pydub's module, imported when a file is first decoded (a build from cached clips with a
    built-in bed never needs it); it warns at import when no ffmpeg is on PATH: we pass ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        import pydub
        import pydub.silence
    return pydub


class DecodeFailed(Exception):
    """ffmpeg could not decode the input; `reason` is its last line of stderr."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Decoding:
    """How to decode: the output rate and layout, a tempo change and a length limit."""

    rate_hz: int
    channels: int = 1
    tempo: float = 1.0  # speed without pitch (ffmpeg atempo, 0.5 to 2.0)
    max_s: float | None = None  # decode at most this much


def load_segment(source: bytes | Path, how: Decoding) -> AudioSegment:
    """The whole input as an AudioSegment at `how.rate_hz` with `how.channels`. Bytes go
    through a pipe (MP3 streams), files by path (m4a needs seeking)."""
    data = source if isinstance(source, bytes) else None
    limit = ["-t", f"{how.max_s:g}"] if how.max_s is not None else []
    filters = ["-af", f"atempo={how.tempo:.6g}"] if how.tempo != 1.0 else []
    command = [
        ffmpeg_exe(), "-hide_banner", "-v", "error", "-nostdin", *limit,
        "-i", "pipe:0" if data is not None else str(source), "-vn", *filters,
        "-f", "s32le", "-ac", str(how.channels), "-ar", str(how.rate_hz), "pipe:1",
    ]  # fmt: skip
    stdin = {"input": data} if data is not None else {"stdin": subprocess.DEVNULL}
    proc = subprocess.run(command, capture_output=True, check=False, **stdin)
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise DecodeFailed(lines[-1] if lines else "")
    return _pydub().AudioSegment(
        data=proc.stdout, sample_width=4, frame_rate=how.rate_hz, channels=how.channels
    )


def trim(segment: AudioSegment, threshold_dbfs: float, pad_s: float) -> AudioSegment:
    """Leading and trailing stretches quieter than `threshold_dbfs` (RMS over 10 ms) cut, and
    exactly `pad_s` of silence put back at each end."""
    detect_leading_silence = _pydub().silence.detect_leading_silence
    head = detect_leading_silence(segment, silence_threshold=threshold_dbfs, chunk_size=10)
    tail = detect_leading_silence(
        segment.reverse(), silence_threshold=threshold_dbfs, chunk_size=10
    )
    if head >= len(segment):
        return segment[:0]
    pad = _pydub().AudioSegment.silent(duration=pad_s * 1000, frame_rate=segment.frame_rate)
    pad = pad.set_channels(segment.channels).set_sample_width(segment.sample_width)
    return pad + segment[head : len(segment) - tail] + pad


def to_array(segment: AudioSegment) -> np.ndarray:
    """(frames,) float32 for mono, (frames, channels) otherwise."""
    pcm = np.frombuffer(segment.raw_data, dtype="<i4").astype(np.float32) / FULL_SCALE
    return pcm if segment.channels == 1 else pcm.reshape(-1, segment.channels)
