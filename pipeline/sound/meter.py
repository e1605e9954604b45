"""An independent check of a finished file: ffmpeg's EBU R128 meter (ebur128 filter).

It decodes the MP3 the listener will get and reports its integrated loudness (LUFS) and true
peak (dBTP, 4x oversampled), so the figures printed after a build are not the renderer's
own prediction.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..encode import ffmpeg_exe
from ..errors import EncodeError

_SUMMARY = re.compile(
    r"Integrated loudness:\s*I:\s*(?P<i>-?[\d.]+|-inf) LUFS.*True peak:\s*Peak:\s*"
    r"(?P<tp>-?[\d.]+|-inf) dBFS",
    re.S,
)


@dataclass(frozen=True)
class Measured:
    lufs: float  # integrated loudness, LUFS
    true_peak_db: float  # dBTP


def measure_file(path: Path) -> Measured:
    """Run `ffmpeg -i FILE -af ebur128=peak=true -f null -` and read its summary."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-nostdin", "-i", str(path),
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    found = _SUMMARY.search(result.stderr)
    if result.returncode != 0 or found is None:
        tail = " / ".join(result.stderr.strip().splitlines()[-2:])
        raise EncodeError(f"{path}: ffmpeg could not measure its loudness: {tail or 'no output'}")
    return Measured(float(found["i"]), float(found["tp"]))
