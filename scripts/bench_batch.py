"""Batch figures: a 24-variant matrix of ~1-2 minute sessions with -j 1 and -j 2, then the
unchanged re-run. Runs the real `pmr batch` command; narration is warmed first so the two
render runs compare rendering alone.

    .venv/bin/python scripts/bench_batch.py
"""

from __future__ import annotations

import os
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


def timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.monotonic()
    subprocess.run([PMR, "batch", *args], check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main() -> None:
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
        print(f"narration warm-up (2 variants, cold cache): {warm:.1f} s")
        print(f"24 variants, -j 1: {j1:.1f} s")
        print(f"24 variants, -j 2: {j2:.1f} s  ({j1 / j2:.2f}x)")
        print(f"unchanged re-run of the 24: {again:.2f} s")


if __name__ == "__main__":
    main()
