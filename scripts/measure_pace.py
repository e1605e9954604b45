"""Words per minute, sentence gaps and reach of every built-in routine, from decoded MP3s.

Builds each routine at --minutes with the defaults (its own pace and phrasing) and measures
the MP3 with pipeline/check.py (voiced frames of the decoded audio, the transcript only to
know which words belong where). It also prints the lengths each routine can make with that
voice at its pace, from the build's real clip lengths, and the shortest it makes read faster
(down to the voice's own pace, as `pmr build` does for a short session: the fitter's
estimate, speaking time scaled). The README's "Pace" and "Built-in routines" tables come from
this script.

    python scripts/measure_pace.py [--minutes 15] [--voice piper-joe] [ROUTINE ...]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

from pipeline.build import BuildOptions, BuildResult, build
from pipeline.check import PRESETS, check_file
from pipeline.fit import reachable
from pipeline.sound.voicechain import SYNTHETIC_ENGINES
from pipeline.template import builtin_routines
from pipeline.tighten import scaled

FIGURES = ("speech rate", "sentence gap (median)", "hold (worst)", "relax (shortest)")


def reach(result: BuildResult) -> str:
    """'11.6 to 50.2 min at its pace; read faster from 9.8 min' (from the build's clips)."""
    script, clips = result.script, result.clips
    rate = clips.rate_hz
    synthetic = {i for i, engine in clips.engines.items() if engine in SYNTHETIC_ENGINES}
    at_pace = reachable(script, clips.frames, rate)
    faster = reachable(script, scaled(clips.frames, synthetic, min(1.0, script.delivery.pace),
                                      rate), rate)  # fmt: skip
    low = math.ceil(faster.low / rate / 6) / 10  # rounded up to 0.1 min: reachable
    tightened = " (this build was read faster: the range is of the faster clips)"
    note = tightened if at_pace.low > result.timeline.total else ""
    return f"{at_pace.describe(rate)} at its pace; read faster from {low:.1f} min{note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("routines", nargs="*")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--voice", default="piper-joe")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, help="also write every check figure here")
    args = parser.parse_args()
    routines = args.routines or [r for r in builtin_routines() if not r.endswith("-es")]
    print("| routine | wpm over line time | median sentence gap (s) | worst hold (s) "
          "| shortest relax (s) | reach |\n| --- | --- | --- | --- | --- | --- |")  # fmt: skip
    every = {}
    with tempfile.TemporaryDirectory() as tmp:
        for routine in routines:
            out = Path(tmp) / f"{routine}.mp3"
            result = build(BuildOptions(routine=routine, minutes=args.minutes, voice=args.voice,
                                        out=out, cache_dir=args.cache_dir))  # fmt: skip
            preset = result.script.loudness if result.script.loudness in PRESETS else "podcast"
            report = check_file(out, preset=preset)
            figures = {f.name: f.value for f in report.figures}
            every[routine] = {
                f.name: {
                    "value": f.value,
                    "unit": f.unit,
                    "ok": f.ok if f.ok is None else bool(f.ok),
                }
                for f in report.figures
            }
            cells = [f"{figures[n]:.2f}" if figures.get(n) is not None else "-" for n in FIGURES]
            print(f"| `{routine}` | " + " | ".join(cells) + f" | {reach(result)} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(every, indent=1))


if __name__ == "__main__":
    main()
