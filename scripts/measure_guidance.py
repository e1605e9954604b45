"""Guidance figures: each routine's reachable range, and the longest voice-free stretch of a
decoded `full` at 10, 20 and 30 minutes (its final minute aside).

The builds have no background and no chimes, so every stretch quieter than -50 dBFS (100 ms
windows, from the PCM ffmpeg decodes, streamed) is a stretch without the voice: an independent
check of the issue-15 bar (no voice-free stretch over 30 s at 20 and 30 minutes). The 30-minute
build is slow on small machines, so it lives here and not in the test suite.
Usage: .venv/bin/python scripts/measure_guidance.py [--minutes 10,20,30] [--routines full,short]
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from pipeline.build import BuildOptions, build
from pipeline.encode import ffmpeg_exe
from pipeline.fit import describe_reach
from pipeline.narration import ClipCache, default_cache_dir, load_voice
from pipeline.plan import clip_lengths
from pipeline.template import load_script

RATE = 44_100
print = functools.partial(print, flush=True)  # progress shows as it happens
WINDOW = RATE // 10  # 100 ms


def longest_quiet_s(path: Path, skip_end_s: float = 60.0) -> tuple[float, float]:
    """(longest run of windows under -50 dBFS, where it starts), both in seconds."""
    command = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1",
               "-ar", str(RATE), "pipe:1"]  # fmt: skip
    levels: list[np.ndarray] = []
    rest = np.zeros(0, dtype=np.float32)
    with subprocess.Popen(command, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        while chunk := process.stdout.read(WINDOW * 4 * 100):
            pcm = np.concatenate([rest, np.frombuffer(chunk, dtype="<f4")])
            whole = pcm.size // WINDOW * WINDOW
            windows = pcm[:whole].astype(np.float64).reshape(-1, WINDOW)
            levels.append(20 * np.log10(np.sqrt(np.mean(windows**2, axis=1)) + 1e-12))
            rest = pcm[whole:]
    quiet = np.concatenate(levels) < -50
    quiet = quiet[: max(quiet.size - int(skip_end_s * 10), 0)]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    if edges.size == 0:
        return 0.0, 0.0
    lengths = edges[1::2] - edges[0::2]
    worst = int(np.argmax(lengths))
    return lengths[worst] / 10, edges[0::2][worst] / 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="10,20,30")
    parser.add_argument("--routines", default="full,short,quick,sleep,learn,back-care")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "pmr-guidance")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    voice = load_voice("piper-joe")
    cache = ClipCache(default_cache_dir())
    for routine in args.routines.split(","):
        subprocess.run(
            [sys.executable, "-m", "pipeline", "narrate", routine], check=False, capture_output=True
        )
        script = load_script(routine)
        lengths = clip_lengths(script, voice, cache, RATE)
        print(f"{routine}: reaches {describe_reach(script, lengths.frames, RATE)} with piper-joe "
              f"({lengths.estimated} of {len(lengths.frames)} clips estimated)")  # fmt: skip
    worst = 0.0
    for minutes in (float(m) for m in args.minutes.split(",")):
        out = args.out / f"full-{minutes:g}.mp3"
        options = BuildOptions(
            "full", minutes, out=out, background="none", chimes=False, measure=False,
            sidecars=False,
        )  # fmt: skip
        result = build(options)
        patter = sum(1 for e in result.timeline.events if e.ref.startswith("patter."))
        longest, at = longest_quiet_s(result.path)
        worst = max(worst, longest) if minutes >= 20 else worst
        print(f"full {minutes:g} min: longest voice-free stretch {longest:.1f} s at "
              f"{at / 60:.2f} min (final minute aside); {patter} patter lines")  # fmt: skip
    raise SystemExit(1 if worst > 30 else 0)


if __name__ == "__main__":
    main()
