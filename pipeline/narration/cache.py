"""A content-addressed store of finished narration clips.

A clip's key hashes everything that shapes its samples (text, voice parameters, engine
version, sample rate, processing version), so a clip is synthesized once, ever, and shared by
every build and batch worker. Entries are written to a temp file and renamed into place, so a
reader sees a complete clip or none; a clip that doesn't load is treated as missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

PROCESSING_VERSION = 1  # bump when trimming/normalizing changes what a cached clip holds


def default_cache_dir() -> Path:
    return Path(os.environ.get("PMR_CACHE_DIR") or platformdirs.user_cache_dir("pmr"))


class ClipCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def key(
        self, voice: str, text: str, params: dict[str, Any], engine_version: str, rate_hz: int
    ) -> str:
        """'<voice>/<sha256>': clips are grouped by voice name so they can be counted per voice."""
        material = {
            "text": text,
            "voice": params,
            "engine": engine_version,
            "rate_hz": rate_hz,
            "processing": PROCESSING_VERSION,
        }
        digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
        return f"{voice}/{digest}"

    def path(self, key: str) -> Path:
        return self.root / "clips" / f"{key}.npy"

    def count(self, voice: str) -> int:
        return sum(1 for _ in (self.root / "clips" / voice).glob("*.npy"))

    def get(self, key: str) -> np.ndarray | None:
        """The clip memory-mapped (reloads at disk speed), or None if absent or unreadable."""
        path = self.path(key)
        try:
            clip = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if clip.ndim != 1 or clip.dtype != np.float32:
            return None
        return clip

    def put(self, key: str, clip: np.ndarray) -> Path:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:12]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, np.ascontiguousarray(clip, dtype=np.float32), allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path
