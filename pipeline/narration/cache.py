"""A content-addressed store of finished narration clips.

A clip's key hashes everything that shapes its samples (text, voice parameters, engine
version, sample rate, processing version), so a clip is synthesized once, ever, and shared by
every build and batch worker. Each entry is one `.npy` file followed by a 40-byte trailer
(`PMRSUM01` + SHA-256 of the `.npy` bytes); numpy ignores the trailer, so a clip still loads
memory-mapped. Entries are written to a temp file and renamed into place, so a reader sees a
complete clip or none, and concurrent writers of one key just replace each other's identical
work. A file that is truncated or whose checksum fails is reported as corrupt, never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from ..files import TEMP_SUFFIX, Replace, write_atomic

PROCESSING_VERSION = 2  # bump when trimming/normalizing or the file format changes
TRAILER_MAGIC = b"PMRSUM01"
TRAILER_BYTES = len(TRAILER_MAGIC) + 32
STALE_TEMP_S = 3600.0  # a temp file this old belongs to a writer that died


def default_cache_dir() -> Path:
    return Path(os.environ.get("PMR_CACHE_DIR") or platformdirs.user_cache_dir("pmr"))


@dataclass(frozen=True)
class VoiceUsage:
    voice: str
    clips: int
    size_bytes: int
    last_used_s: float  # epoch seconds when a clip of this voice was last used


@dataclass(frozen=True)
class PruneResult:
    removed: int
    freed_bytes: int
    corrupt: int
    temp_files: int
    stored: int = 0  # files of the build's stores beside the clips (covers/, beds/)


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
        """The verified clip, or None if absent or corrupt."""
        return self.lookup(key)[0]

    def lookup(self, key: str) -> tuple[np.ndarray | None, bool]:
        """(clip, corrupt): (None, False) when absent, (None, True) when present but damaged
        (truncated, bad checksum, wrong shape). A hit sets the file's access time (mtime stays
        the creation time) so `prune` removes what nobody has used for a while."""
        path = self.path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None, False
        except OSError:
            return None, True
        clip = _verified(blob)
        if clip is None:
            return None, True
        with contextlib.suppress(OSError):
            os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
        return clip, False

    def put(self, key: str, clip: np.ndarray) -> Path:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(clip, dtype=np.float32), allow_pickle=False)
        blob = buffer.getvalue()
        data = blob + TRAILER_MAGIC + hashlib.sha256(blob).digest()
        return write_atomic(path, data, replace=Replace.ALWAYS)

    def entries(self) -> Iterator[Path]:
        yield from (self.root / "clips").glob("*/*.npy")

    def usage(self) -> list[VoiceUsage]:
        """Per voice: clips, bytes and when one was last used."""
        per_voice: dict[str, list[os.stat_result]] = {}
        for path in self.entries():
            try:
                per_voice.setdefault(path.parent.name, []).append(path.stat())
            except FileNotFoundError:
                continue
        return [
            VoiceUsage(
                voice,
                len(stats),
                sum(s.st_size for s in stats),
                max(_last_used(s) for s in stats),
            )
            for voice, stats in sorted(per_voice.items())
        ]

    def prune(
        self, older_than_s: float | None = None, voice: str | None = None, everything: bool = False
    ) -> PruneResult:
        """Remove clips unused for `older_than_s`, a voice's clips, or all; always removes
        corrupt entries and temp files left by writers that died. The stores beside the clips
        (drawn covers, bed figures and noise loops) go with `everything` or when unused."""
        now = time.time()
        removed = freed = corrupt = temps = 0
        for path in list(self.entries()):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            damaged = _verified(path.read_bytes()) is None
            old = older_than_s is not None and now - _last_used(stat) > older_than_s
            if everything or damaged or old or (voice is not None and path.parent.name == voice):
                path.unlink(missing_ok=True)
                removed += 1
                freed += stat.st_size
                corrupt += damaged
        clips = self.root / "clips"  # '.tmp': the temp name of pmr before files.py
        for tmp in (*clips.glob(f"*/.*{TEMP_SUFFIX}"), *clips.glob("*/.*.tmp")):
            try:
                if everything or now - tmp.stat().st_mtime > STALE_TEMP_S:
                    freed += tmp.stat().st_size
                    tmp.unlink()
                    temps += 1
            except FileNotFoundError:
                continue
        stored = 0
        for path in (*self.root.glob("covers/*"), *self.root.glob("beds/*")):
            try:  # made again by the next build that needs them; never a voice's
                stat = path.stat()
                if everything or (
                    older_than_s is not None and now - _last_used(stat) > older_than_s
                ):
                    path.unlink()
                    stored, freed = stored + 1, freed + stat.st_size
            except FileNotFoundError:
                continue
        return PruneResult(removed, freed, corrupt, temps, stored)


def _last_used(stat: os.stat_result) -> float:
    return max(stat.st_atime, stat.st_mtime)


def _verified(blob: bytes) -> np.ndarray | None:
    """The clip in a cache file's bytes if its trailer checksum matches, else None."""
    if len(blob) <= TRAILER_BYTES or blob[-TRAILER_BYTES:-32] != TRAILER_MAGIC:
        return None
    body = memoryview(blob)[:-TRAILER_BYTES]
    if hashlib.sha256(body).digest() != blob[-32:]:
        return None
    try:  # the array read in place, no copy of the clip (a build looks up dozens)
        head = io.BytesIO(body[:4096])
        major, _ = np.lib.format.read_magic(head)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else (
            np.lib.format.read_array_header_2_0)  # fmt: skip
        shape, fortran, dtype = read_header(head)
        if len(shape) != 1 or fortran or dtype != np.float32:
            return None
        return np.frombuffer(body, dtype=np.float32, count=shape[0], offset=head.tell())
    except (OSError, ValueError, EOFError):
        return None
