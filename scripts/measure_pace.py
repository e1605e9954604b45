"""Words per minute and sentence gaps of every built-in routine, measured from decoded MP3s.

Builds each routine at --minutes with the defaults (its own pace and phrasing) and measures
the MP3 with pipeline/check.py (voiced frames of the decoded audio, the transcript only to
know which words belong where). The README's "Pace" table comes from this script.

    python scripts/measure_pace.py [--minutes 15] [--voice piper-joe] [ROUTINE ...]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from pipeline.build import BuildOptions, build
from pipeline.check import check_file
from pipeline.template import builtin_routines

FIGURES = ("speech rate", "sentence gap (median)", "hold (worst)", "relax (shortest)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("routines", nargs="*")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--voice", default="piper-joe")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    routines = args.routines or [r for r in builtin_routines() if not r.endswith("-es")]
    print("| routine | wpm over line time | median sentence gap (s) | worst hold (s) "
          "| shortest relax (s) |\n| --- | --- | --- | --- | --- |")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for routine in routines:
            out = Path(tmp) / f"{routine}.mp3"
            build(BuildOptions(routine=routine, minutes=args.minutes, voice=args.voice, out=out,
                               cache_dir=args.cache_dir))  # fmt: skip
            figures = {f.name: f.value for f in check_file(out).figures}
            cells = [f"{figures[n]:.2f}" if figures.get(n) is not None else "-" for n in FIGURES]
            print(f"| `{routine}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
