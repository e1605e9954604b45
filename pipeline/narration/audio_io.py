"""Decode any audio file or MP3 answer to mono float32 (ffmpeg decodes, pydub holds it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import VoiceError
from ..sound.audiofile import DecodeFailed, Decoding, load_segment, to_array

if TYPE_CHECKING:
    from pydub import AudioSegment
from ..tuning import SAMPLE_RATE_HZ


class AudioDecodeError(VoiceError):
    """The bytes or file are not audio ffmpeg can decode."""


def decode_segment(
    source: bytes | Path, rate_hz: int = SAMPLE_RATE_HZ, tempo: float = 1.0, label: str = ""
) -> AudioSegment:
    """A mono AudioSegment at `rate_hz`; `tempo` changes speed without pitch (ffmpeg atempo,
    0.5 to 2.0). A failure names the file (or `label`) and ffmpeg's reason."""
    what = label or (str(source) if not isinstance(source, bytes) else "audio answer")
    try:
        segment = load_segment(source, Decoding(rate_hz, 1, tempo))
    except OSError as exc:
        raise AudioDecodeError(f"can't run ffmpeg: {exc.strerror}") from None
    except DecodeFailed as exc:
        raise AudioDecodeError(
            f"{what}: not decodable audio ({exc.reason or 'ffmpeg failed'})"
        ) from None
    if len(segment.raw_data) == 0:
        raise AudioDecodeError(f"{what}: decodes to no audio at all")
    return segment


def decode_audio(
    source: bytes | Path, rate_hz: int = SAMPLE_RATE_HZ, tempo: float = 1.0, label: str = ""
) -> np.ndarray:
    """Mono float32 samples at `rate_hz` (see `decode_segment`)."""
    return to_array(decode_segment(source, rate_hz, tempo, label))
