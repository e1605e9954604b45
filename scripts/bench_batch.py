"""Batch figures: a 24-variant matrix of ~1-2 minute sessions with -j 1 and -j 2, then the
unchanged re-run. Runs the real `pmr batch` command; narration is warmed first so the two
render runs compare rendering alone.

    .venv/bin/python scripts/bench_batch.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import SHORT_ROUTINE

PMR = str(Path(sys.executable).with_name("pmr"))
MATRIX = """
[matrix]
routines = ["mini.toml", "mini-b.toml"]
minutes = [1.0, 1.2, 1.4, 1.6, 1.8, 2.0]
backgrounds = ["pad", "none"]
[output]
dir = "{out}"
"""


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s of pmr and everything it started) for one `pmr batch` run."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    subprocess.run([PMR, "batch", *args], check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    wall, after = time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    load = os.getloadavg()[0]  # other jobs on the machine: the wall times depend on it
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "mini.toml").write_text(SHORT_ROUTINE)
        (folder / "mini-b.toml").write_text(
            SHORT_ROUTINE.replace('name = "mini"', 'name = "mini-b"').replace(
                "Sit comfortably", "Lie down comfortably"
            )
        )
        env = {**os.environ, "PMR_CACHE_DIR": str(folder / "cache")}
        for name in ("j1", "j2"):
            (folder / f"{name}.toml").write_text(MATRIX.format(out=name))
        warm = timed(["--routines", "mini.toml,mini-b.toml", "--minutes", "1", "-o", "warm"],
                     env, folder)  # fmt: skip
        j1 = timed(["j1.toml", "-j", "1"], env, folder)
        j2 = timed(["j2.toml", "-j", "2"], env, folder)
        again = timed(["j2.toml", "-j", "2"], env, folder)
        print(f"load average at the start: {load:.1f} on {os.cpu_count()} cores")
        for label, (wall, cpu) in (
            ("narration warm-up (2 variants, cold cache)", warm),
            ("24 variants, -j 1", j1),
            ("24 variants, -j 2", j2),
            ("unchanged re-run of the 24", again),
        ):
            print(f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU ({cpu / wall:.2f} cores busy)")
        print(f"-j 2 speed-up: {j1[0] / j2[0]:.2f}x")


if __name__ == "__main__":
    main()
