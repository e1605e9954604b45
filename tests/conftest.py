"""Shared fixtures: a real narration cache for the whole run, and an independent MP3 decoder."""

from __future__ import annotations

import subprocess
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
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real clip cache for the run: each line is synthesized by Piper once."""
    return tmp_path_factory.mktemp("clip-cache")


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
