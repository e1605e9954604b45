"""Where a warm build's CPU goes: pmr itself against each of its ffmpeg children.

    python scripts/profile_build.py sleep -m 10 [--top 25] [--pstats out.prof]

Runs the build twice from a warm narration cache (the first run warms it):
- once as the real `pmr build` command, with every ffmpeg it starts wrapped by a tiny logger
  (PMR_FFMPEG points at it) that reports the child's own CPU seconds from wait4, so the split
  pmr / encoder / meter / remux is exact, not sampled;
- once in this process under cProfile, to say which functions pmr's own seconds go to.
CPU seconds are user + system. Nothing here is timed against a bar: it reports.
"""

from __future__ import annotations

import argparse
import compileall
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
OUT = ROOT / "output" / "profile"

WRAPPER = """#!{python}
import json, os, resource, sys
pid = os.fork()
if pid == 0:
    os.execv({ffmpeg!r}, [{ffmpeg!r}, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
role = "remux" if "copy" in sys.argv and "pipe:0" not in sys.argv else (
    "meter" if "ebur128" in " ".join(sys.argv) and "libmp3lame" not in sys.argv else
    "encoder" if "libmp3lame" in sys.argv else "other")
with open({log!r}, "a") as log:
    log.write(json.dumps({{"role": role, "cpu_s": usage.ru_utime + usage.ru_stime}}) + "\\n")
    me = resource.getrusage(resource.RUSAGE_SELF)
    log.write(json.dumps({{"role": "wrapper", "cpu_s": me.ru_utime + me.ru_stime}}) + "\\n")
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else 0)
"""


def wrapped_ffmpeg(folder: Path, log: Path) -> Path:
    from pipeline.encode import ffmpeg_exe

    wrapper = folder / "ffmpeg-logged"
    wrapper.write_text(WRAPPER.format(python=sys.executable, ffmpeg=ffmpeg_exe(), log=str(log)))
    wrapper.chmod(0o755)
    return wrapper


def cpu_split(build_args: list[str], env: dict[str, str]) -> dict[str, float]:
    """CPU seconds of the whole `pmr build` tree, and of each ffmpeg role within it."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "children.jsonl"
        log.touch()
        env = dict(env, PMR_FFMPEG=str(wrapped_ffmpeg(Path(tmp), log)))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([str(BIN / "pmr"), "build", *build_args, "-q"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        roles: dict[str, float] = {}
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            roles[entry["role"]] = roles.get(entry["role"], 0.0) + entry["cpu_s"]
    total = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    # the wrappers' own python start-ups are in `total` too: logged, and not pmr's work
    wrappers = roles.pop("wrapper", 0.0)
    return {"tree": total - wrappers, **roles, "pmr": total - wrappers - sum(roles.values())}


def profiled(
    build_args: list[str], pstats_path: Path | None, top: int, timer: str = "cpu"
) -> dict[str, float]:
    """pmr's own CPU in this process under cProfile (the ffmpeg children run as usual). With
    the cpu timer a function is charged this process's CPU seconds, so time spent blocked on a
    pipe to ffmpeg or in fsync costs nothing; wall charges it the elapsed time."""
    from typer.main import get_command

    from pipeline.cli import app

    command = get_command(app)
    start = resource.getrusage(resource.RUSAGE_SELF)
    profile = cProfile.Profile(time.process_time) if timer == "cpu" else cProfile.Profile()
    profile.enable()
    try:
        command.main(["build", *build_args, "-q"], standalone_mode=False)
    finally:
        profile.disable()
    end = resource.getrusage(resource.RUSAGE_SELF)
    stats = pstats.Stats(profile, stream=sys.stdout)
    if pstats_path:
        stats.dump_stats(pstats_path)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return {"pmr in-process (profiled)": (end.ru_utime + end.ru_stime) - (start.ru_utime +
            start.ru_stime)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("routine")
    parser.add_argument("-m", "--minutes", default="10")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pstats", type=Path)
    parser.add_argument("--repeat", type=int, default=2, help="CPU-split runs (each printed)")
    parser.add_argument("-j", "--jobs", default="1", help="pmr build --jobs (1: serial)")
    parser.add_argument(
        "--timer", choices=("cpu", "wall"), default="cpu", help="what cProfile charges"
    )
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "pipeline", quiet=1)  # as `make bench` has it (`bytecode`)
    OUT.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PMR_CACHE_DIR=os.environ.get("PMR_CACHE_DIR", str(OUT / "cache")))
    os.environ.update(env)
    out = OUT / f"{args.routine}-{args.minutes}.mp3"
    build_args = [args.routine, "-m", args.minutes, "--out", str(out), "--force", "-j", args.jobs]
    subprocess.run(
        [str(BIN / "pmr"), "build", *build_args, "-q"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip  (warms the cache)
    for _ in range(args.repeat):
        split = cpu_split(build_args, env)
        print("CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in split.items()), flush=True)
    print(profiled(build_args, args.pstats, args.top, args.timer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
