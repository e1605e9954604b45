"""The bed's calibration energies, kept on disk beside the narration clips.

Calibrating a built-in bed (pipeline/sound/mix.py `calibrate_bed`) renders up to 90 s of it and
K-weights them: about a third of a CPU second, for the same figures every build of that bed,
rate, layout and seed. They are kept in `<cache>/beds/`, keyed by those and by the bytes of the
code that makes them (every module of pipeline/sound, tuning and dsp, and numpy's version), so a
change to any of it measures afresh. A bed from an audio file is measured every time (its
figures hang on the file and the decoder). A cache that can't be read or written only means
measuring again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from functools import cache
from pathlib import Path

import numpy as np

from ..files import Replace, write_atomic
from .backgrounds import BedSpec
from .mix import BedEnergies, bed_energies

CALIBRATION_VERSION = 1  # bump when what a cached entry holds changes
_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def code_digest() -> str:
    """SHA-256 of the sources a bed's figures depend on ('' when they can't be read: then
    nothing is cached)."""
    digest = hashlib.sha256()
    try:
        for path in sorted([*(_PACKAGE / "sound").glob("*.py"), _PACKAGE / "tuning.py",
                            _PACKAGE / "dsp.py"]):  # fmt: skip
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    except OSError:
        return ""
    return digest.hexdigest()


def cached_bed_energies(cache_dir: Path) -> BedEnergies:
    """`bed_energies`, read from `cache_dir` when it has them and written there when not."""

    def measure(spec: BedSpec, rate: int, channels: int, seed: int, frames: int) -> np.ndarray:
        code = code_digest()
        if spec.path is not None or not code:
            return bed_energies(spec, rate, channels, seed, frames)
        material = [CALIBRATION_VERSION, spec.name, rate, channels, seed, frames,
                    np.__version__, code]  # fmt: skip
        key = hashlib.sha256(json.dumps(material).encode()).hexdigest()
        path = Path(cache_dir) / "beds" / f"{key}.npy"
        with contextlib.suppress(OSError, ValueError, EOFError):
            kept = np.load(path, allow_pickle=False)
            if kept.dtype == np.float64 and kept.ndim == 1:
                return kept
        energies = bed_energies(spec, rate, channels, seed, frames)
        buffer = io.BytesIO()
        np.save(buffer, energies, allow_pickle=False)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, buffer.getvalue(), replace=Replace.ALWAYS)
        return energies

    return measure
