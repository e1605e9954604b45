"""Decode any audio file or MP3 answer to mono float32 through one real ffmpeg process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from ..encode import ffmpeg_exe
from ..errors import VoiceError
from ..tuning import SAMPLE_RATE_HZ


class AudioDecodeError(VoiceError):
    """The bytes or file are not audio ffmpeg can decode."""


def decode_audio(
    source: bytes | Path, rate_hz: int = SAMPLE_RATE_HZ, tempo: float = 1.0, label: str = ""
) -> np.ndarray:
    """Mono float32 samples at `rate_hz`; `tempo` changes speed without pitch (ffmpeg atempo,
    0.5 to 2.0). Bytes go through a pipe (MP3 streams), files by path (m4a needs seeking)."""
    data = source if isinstance(source, bytes) else None
    name = "pipe:0" if data is not None else str(source)
    filters = ["-af", f"atempo={tempo:.6g}"] if tempo != 1.0 else []
    command = [
        ffmpeg_exe(), "-hide_banner", "-v", "error",
        "-i", name, *filters, "-f", "f32le", "-ac", "1", "-ar", str(rate_hz), "pipe:1",
    ]  # fmt: skip
    stdin = {"input": data} if data is not None else {"stdin": subprocess.DEVNULL}
    try:
        proc = subprocess.run(command, capture_output=True, check=False, **stdin)
    except OSError as exc:
        raise AudioDecodeError(f"can't run ffmpeg ({ffmpeg_exe()}): {exc.strerror}") from None
    what = label or (str(source) if data is None else "audio answer")
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        raise AudioDecodeError(
            f"{what}: not decodable audio ({reason[-1] if reason else 'ffmpeg failed'})"
        )
    samples = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)
    if samples.size == 0:
        raise AudioDecodeError(f"{what}: decodes to no audio at all")
    return samples
