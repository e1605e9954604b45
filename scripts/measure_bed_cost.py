"""What each built-in background bed costs to render: CPU seconds per 10 minutes of 44.1 kHz
stereo, drawn in BLOCK_FRAMES blocks from frame 0 as a build draws them. `make_bed` (which
builds a noise bed's loop, once per process) is timed apart from the blocks.

    .venv/bin/python scripts/measure_bed_cost.py [minutes]
"""

from __future__ import annotations

import sys
import time

from pipeline.sound.backgrounds import BACKGROUNDS, BedSpec, make_bed
from pipeline.tuning import BLOCK_FRAMES

RATE = 44_100


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    total = round(minutes * 60 * RATE)
    print(f"{'bed':16s} {'make_bed s':>10s} {'blocks s/10 min':>16s}")
    for name in BACKGROUNDS:
        began = time.process_time()
        bed = make_bed(BedSpec(name), RATE, 2, 0)
        made = time.process_time() - began
        began = time.process_time()
        for start in range(0, total, BLOCK_FRAMES):
            bed.block(start, min(BLOCK_FRAMES, total - start))
        spent = (time.process_time() - began) * 10.0 / minutes
        print(f"{name:16s} {made:10.3f} {spent:16.3f}")


if __name__ == "__main__":
    main()
