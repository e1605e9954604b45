"""The bad-input table: run every user mistake of the CLI tests through a real `pmr` process and
print command, exit code and stderr, so two trees can be compared (issue 13: the CLI rewrite
keeps every message and exit code).

    .venv/bin/python scripts/bad_inputs_table.py                    # this tree
    .venv/bin/python scripts/bad_inputs_table.py --tree /tmp/before # another checkout's pipeline/
    diff <(... --tree /tmp/before) <(...)                           # before/after

The cases are tests/test_bad_inputs.py's BAD_INPUTS (with `--out` as that test adds it) and the
mistakes the other CLI tests make; temp paths print as $TMP. The narration cache is shared by
all cases (--cache-dir) so a second run synthesizes nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import SHORT_ROUTINE  # noqa: E402
from tests.test_bad_inputs import BAD_INPUTS  # noqa: E402

MakeArgs = Callable[[Path], list[str]]


def fixed(*words: str) -> MakeArgs:
    return lambda folder: list(words)


def with_file(name: str, text: str, *words: str) -> MakeArgs:
    """Writes `name` into the case's folder; '{f}' in the words is its path."""

    def make(folder: Path) -> list[str]:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return [w.replace("{f}", str(path)).replace("{d}", str(folder)) for w in words]

    return make


CLI_TESTS: dict[str, MakeArgs] = {
    # test_cli.py (each with --out $TMP/x.mp3)
    "cli: unknown routine": fixed("build", "nosuch", "--out", "x.mp3"),
    "cli: voice typo": fixed("build", "--voice", "piper-jo", "--out", "x.mp3"),
    "cli: minutes 0": fixed("build", "--minutes", "0", "--out", "x.mp3"),
    "cli: minutes -3": fixed("build", "--minutes", "-3", "--out", "x.mp3"),
    "cli: minutes 2": fixed("build", "--minutes", "2", "--out", "x.mp3"),
    "cli: background rain": fixed("build", "--background", "rain", "--out", "x.mp3"),
    "cli: missing output folder": fixed("build", "--out", "nope/x.mp3"),
    "cli: option type": fixed("build", "--minutes", "ten"),
    "cli: unknown command": fixed("bild"),
    # test_sound.py
    "sound: preview unknown": fixed("preview-background", "rian", "-o", "x.mp3"),
    "sound: binaural mono": fixed("preview-background", "binaural-alpha", "--mono", "-o", "x.mp3"),
    "sound: loudness word": fixed("preview-background", "pad", "--loudness", "loud", "-o", "x.mp3"),
    "sound: loudness -3": fixed("preview-background", "pad", "--loudness", "-3", "-o", "x.mp3"),
    "sound: bitrate": fixed("preview-background", "pad", "--bitrate", "100k", "-o", "x.mp3"),
    "sound: sample rate": fixed("preview-background", "pad", "--sample-rate", "12345"),
    "sound: bed level preview": fixed("preview-background", "pad", "--bed-level", "2"),
    "sound: seconds 0": fixed("preview-background", "pad", "--seconds", "0", "-o", "x.mp3"),
    "sound: bed level build": fixed("build", "--bed-level", "99", "--out", "x.mp3"),
    "sound: loudness typo": fixed("build", "--loudness", "podcats", "--out", "x.mp3"),
    "sound: not audio": with_file(
        "notes.txt", "not audio", "preview-background", "{f}", "-o", "x.mp3"
    ),
    # test_validate_plan.py
    "validate: bad TOML": with_file(
        "bad.toml", '[routine]\nname = "x"\ntitle = \n', "validate", "{f}"
    ),
    "validate: no file": fixed("validate", "none.toml"),
    "new: bad name": fixed("new", "My Routine"),
    "new: unknown source": fixed("new", "x", "--from", "ful"),
    "new: exists": with_file("my-evening.toml", "x", "new", "my-evening"),
    "plan: out of reach": fixed("plan", "full", "-m", "3"),
    "plan: language": fixed("plan", "completo-es"),
    "plan: png folder": fixed("plan", "full", "--png", "/nonexistent/x.png"),
    "plan: background": fixed("plan", "full", "-b", "rain"),
    "plan: minutes": fixed("plan", "full", "-m", "0"),
    # test_narration_units.py, test_recorded.py, test_program.py, test_batch.py
    "preview: empty text": fixed("preview", "", "-o", "q.mp3"),
    "preview: unknown voice": fixed("preview", "Hi.", "--voice", "nobody", "-o", "q.mp3"),
    "narrate: unknown routine": fixed("narrate", "fulll"),
    "cache prune: negative": fixed("cache", "prune", "--older-than", "-1"),
    "voices script: no folder": fixed("voices", "script", "full", "-o", "nope"),
    "program: bad start": fixed("program", "--start", "tomorrow", "--out", "p"),
    "export: no folder": fixed("export", "phone", "--from", "nothing"),
    "feed: no folder": fixed(
        "feed", "nothing", "--title", "T", "--author", "A", "--base-url", "http://x/"
    ),
    "index: no folder": fixed("index", "nothing"),
    "batch: bad matrix": with_file(
        "m.toml", '[matrix]\nminutes = [10, "twenty"]\n[output]\ndir = "out"\n', "batch", "{f}"
    ),
    "batch: bad list": fixed("batch", "--minutes", "10,x", "-o", "."),
    "batch: executor": with_file(
        "r.toml", SHORT_ROUTINE, "batch", "--routines", "{f}", "-o", "out", "--executor", "ray"
    ),
    "batch: dask alone": with_file(
        "r.toml", SHORT_ROUTINE, "batch", "--routines", "{f}", "-o", "out", "--executor", "dask"
    ),
}


def cases() -> dict[str, MakeArgs]:
    table: dict[str, MakeArgs] = {}
    for name, (make, _expected) in BAD_INPUTS.items():
        table[f"bad input: {name}"] = lambda folder, make=make: [
            *make(folder), "--out", str(folder / "out" / "session.mp3")
        ]  # fmt: skip
    return table | CLI_TESTS


def run(tree: Path, name: str, make: MakeArgs, cache: Path) -> tuple[list[str], int, str]:
    with tempfile.TemporaryDirectory(prefix="pmr-bad-") as tmp:
        folder = Path(tmp)
        (folder / "out").mkdir()
        args = make(folder)
        env = os.environ | {"PYTHONPATH": str(tree), "PMR_CACHE_DIR": str(cache)}
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            cwd=folder, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        left = sorted(p.name for p in (folder / "out").iterdir())
        stderr = done.stderr.replace(str(folder), "$TMP").rstrip()
        if left:
            stderr += f"\n[left in $TMP/out: {', '.join(left)}]"
        return [a.replace(str(folder), "$TMP") for a in args], done.returncode, stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose pipeline/ runs")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "pmr-bad")
    options = parser.parse_args()
    for name, make in cases().items():
        args, code, stderr = run(options.tree.resolve(), name, make, options.cache_dir)
        print(f"## {name}\n$ pmr {' '.join(args)}\nexit {code}\n{stderr}\n", flush=True)


if __name__ == "__main__":
    main()
