"""Shared fixtures: a real narration cache warmed once per run (each test gets its own linked
copy), and an independent MP3 decoder."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pipeline.encode import ffmpeg_exe

SHORT_ROUTINE = """
[routine]
name = "mini"
title = "Mini test routine"
language = "en"

[pauses]
hold = { seconds = 5 }
relax = { min = 15, default = 16, max = 40 }
settle = { min = 1, default = 2, max = 10 }

[cycle]
steps = [
  { id = "tense", say = "{tense}" },
  { pause = "hold" },
  { id = "release", say = "{release} Notice the difference." },
  { pause = "relax" },
]

[[sections]]
id = "start"
title = "Start"
steps = [
  { cue = "chime" },
  { pause = "settle" },
  { id = "hello", say = "Sit comfortably and close your eyes." },
  { pause = "settle" },
]

[[sections]]
id = "left-hand"
title = "Left hand"
tense = "Clench your left hand into a fist. Hold."
release = "And release."

[[sections]]
id = "right-hand"
title = "Right hand"
tense = "Clench your right hand into a fist. Hold."
release = "And release."
"""


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's warm clip cache: each line is synthesized by Piper once. Tests never write
    here: each gets a hard-linked copy (`cache_dir`), and what it adds is linked back after.
    One for all pytest-xdist workers of the run (their temp folders share a parent)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return tmp_path_factory.mktemp("clip-cache")
    folder = tmp_path_factory.getbasetemp().parent / "clip-cache"
    folder.mkdir(exist_ok=True)
    return folder


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of `source` missing from `target` (the cache writes by rename, so
    a link is never written through)."""
    for path in source.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            copy = target / path.relative_to(source)
            if not copy.exists():
                copy.parent.mkdir(parents=True, exist_ok=True)
                with suppress(FileExistsError):  # another worker linked it first
                    os.link(path, copy)


@contextmanager
def _private_cache(shared: Path, folder: Path) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    _link_tree(shared, folder)
    yield folder
    _link_tree(folder, shared)  # warm the shared cache for the tests after this one


@pytest.fixture
def cache_dir(shared_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This test's own clip cache, starting warm (beside its tmp_path, not in it)."""
    with _private_cache(shared_cache, tmp_path_factory.mktemp("cache")) as folder:
        yield folder


@pytest.fixture(scope="module")
def module_cache(shared_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A module-scoped fixture's own clip cache, starting warm."""
    with _private_cache(shared_cache, tmp_path_factory.mktemp("module-cache")) as folder:
        yield folder


@pytest.fixture(autouse=True)
def _isolated_cache(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMR_CACHE_DIR", str(cache_dir))


@pytest.fixture
def mini_routine(tmp_path: Path) -> Path:
    path = tmp_path / "mini.toml"
    path.write_text(SHORT_ROUTINE, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # (frames, channels) float32
    rate_hz: int

    @property
    def seconds(self) -> float:
        return self.samples.shape[0] / self.rate_hz

    def rms_db(self, start_s: float, end_s: float) -> float:
        """RMS level in dBFS of a stretch of the decoded audio (all channels)."""
        a = self.samples[round(start_s * self.rate_hz) : round(end_s * self.rate_hz)]
        return float(20 * np.log10(np.sqrt(np.mean(a.astype(np.float64) ** 2)) + 1e-12))


def decode(path: Path, rate_hz: int = 44_100) -> Decoded:
    """Decode an MP3 with ffmpeg into float32 PCM: an independent check of what was written."""
    probe = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    )
    channels = 1 if " mono," in probe.stderr else 2
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", str(channels),
         "-ar", str(rate_hz), "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return Decoded(np.frombuffer(raw, dtype="<f4").reshape(-1, channels), rate_hz)


@pytest.fixture
def decode_mp3():
    return decode


def foreground() -> None:
    """preexec_fn for a subprocess that must react to Ctrl-C like one run from a terminal.

    A shell without job control starts background jobs with SIGINT ignored, and children
    inherit that (Python then never raises KeyboardInterrupt): CI may run us that way.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
