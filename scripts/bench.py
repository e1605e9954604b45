"""`make bench`: pmr against the encoder floor and the usual pydub approach, in one invocation.

The floor is the issue's: one ffmpeg encoding the same PCM pmr renders (the session's own
lossless master, written once per length) with the same settings, piped in by a thread of this
script as pmr's workers pipe theirs. Beside it, in the same rounds, reported without a bar:
two ffmpeg encoders alone, each on half of the session's PCM at once with the chunks'
settings (as fast as a 2-job build with ffmpeg chunks can be on the machine that day); the
chunks' own in-process LAME (pipeline/lame.py) alone on the whole PCM in one pass, so the
share of the gain that is the encoder's and the share that is the cores' can be told apart;
and in round 1 only, the floor on the white noise earlier benches fed and a -j 2 build with
an ffmpeg per chunk (PMR_CHUNK_ENCODER=ffmpeg).

Every figure is a ratio against a baseline measured in the same run, so the verdicts hold on a
noisy machine. Wall time and peak memory of the whole process tree (pmr and its ffmpeg children:
the encoder and the loudness meter) are
recorded, and the tree's CPU seconds (user + system of the process and every descendant it
waited for, from getrusage), whose ratio to the floor's CPU is what a loaded machine changes
least. Lengths up to REPEAT_UP_TO_MIN are measured in `--repeat` rounds (floor, serial,
chunked, one after the other in each round), and each ratio is the median over the rounds of
the ratio within a round: a shared 2-core VM's speed drifts by 10 % from one minute to the
next, and a ratio of neighbours drifts least. `--quick` is a short run (5 and 20 min, no pydub
baseline). Results go to output/bench/bench.json and output/bench/bench.png.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.chunked import chunk_command  # noqa: E402
from pipeline.encode import Mp3Writer  # noqa: E402
from pipeline.tuning import BLOCK_FRAMES, CHANNELS, MP3_BITRATE, SAMPLE_RATE_HZ  # noqa: E402

BIN = Path(sys.executable).parent
OUT = ROOT / "output" / "bench"
PMR, FLOOR, PYDUB = "pmr build (warm)", "ffmpeg floor", "pydub baseline"
NOISE_FLOOR = "floor on noise"  # the floor earlier benches measured: white noise at -26 dBFS
PAIR = "2 encoders alone"  # two chunk encoders on the session's two halves, at once
CHUNKED = "pmr build -j 2"  # two chunks rendered and encoded at once (pipeline/chunked.py)
CHUNKED_FFMPEG = "-j 2, ffmpeg chunks"  # the same with an ffmpeg per chunk (round 1 only)
LAME_FLOOR = "in-process LAME"  # the chunks' encoder (pipeline/lame.py) alone, one pass
# Seconds between samples of the tree's PSS: reading it costs the kernel time (sampling every
# 50 ms cost a 2-core machine ~1 s of a 17 s chunked build); memory is flat, the peak the same.
POLL_S = 0.5
REPEAT_UP_TO_MIN = 20  # longer lengths are measured once (a 2-hour round takes 6 minutes)


@dataclass
class Run:
    what: str
    minutes: float
    seconds: float
    cpu_s: float  # user + system CPU of the whole process tree
    peak_rss_mb: float
    peak_pss_mb: float
    ok: bool
    note: str = ""
    repeat: int = 0  # which round of this length it was measured in


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    command: list[str], env: dict[str, str], feed: Callable[[BinaryIO], None] | None = None
) -> tuple[float, float, float, float, bool, str]:
    """Wall time, CPU seconds of the tree, and the peaks (MB) of the summed RSS and summed PSS
    of the process and all its descendants. PSS counts a page shared by several processes (the
    ffmpeg binary mapped by the encoder and the meter, the cache files) once across them; RSS
    counts it in each. The CPU seconds are those of the reaped children (the command and what
    it waited for), so nothing else this script does is counted. `feed` writes the command's
    stdin (on a thread of this process, as pmr's workers pipe theirs), then it is closed."""
    cpu_before = children_cpu()
    start = time.perf_counter()
    stdin = subprocess.PIPE if feed else subprocess.DEVNULL
    proc = subprocess.Popen(
        command, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if feed:

        def pump() -> None:
            assert proc.stdin is not None
            with proc.stdin:
                feed(proc.stdin)

        threading.Thread(target=pump, daemon=True).start()
    peak_rss = peak_pss = 0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            infos = [p.memory_full_info() for p in tree]
            peak_rss = max(peak_rss, sum(i.rss for i in infos))
            peak_pss = max(peak_pss, sum(i.pss for i in infos))
        except psutil.Error:
            pass
        time.sleep(POLL_S)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    note = err.splitlines()[-1] if err and proc.returncode else ""
    cpu = children_cpu() - cpu_before
    return seconds, cpu, peak_rss / 1e6, peak_pss / 1e6, proc.returncode == 0, note


def noise_floor_run(minutes: float, env: dict[str, str]) -> Run:
    """ffmpeg alone: the same encoder command pmr uses, fed N minutes of white noise."""
    rng = np.random.default_rng(0)
    block = (rng.standard_normal((BLOCK_FRAMES, CHANNELS)) * 0.05).astype("<f4").tobytes()
    repeat = round(minutes * 60 * SAMPLE_RATE_HZ / BLOCK_FRAMES)

    def feed(stdin: BinaryIO) -> None:
        for _ in range(repeat):
            stdin.write(block)

    target = OUT / f"noise-floor-{minutes:g}.mp3"
    return Run(NOISE_FLOOR, minutes, *measure(Mp3Writer(target).command(target), env, feed))


def write_master(minutes: float, env: dict[str, str], routine: str) -> Path:
    """The session's lossless master (32-bit float WAV), the PCM every pmr build of this
    routine and length renders (chunked builds render the same blocks bit for bit)."""
    master = OUT / f"master-{routine}-{minutes:g}.wav"
    command = [str(BIN / "pmr"), "build", routine, "-m", f"{minutes:g}", "-j", "1", "--force",
               "--out", str(OUT / "master.mp3"), "--master", str(master), "-q"]  # fmt: skip
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return master


def pcm_span(wav: Path) -> tuple[int, int]:
    """(offset, bytes) of a WAV file's sample data (its `data` chunk)."""
    with wav.open("rb") as file:
        head = file.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{wav}: not a WAV file")
        while chunk := file.read(8):
            size = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                return file.tell(), size
            file.seek(size + (size & 1), os.SEEK_CUR)
    raise ValueError(f"{wav}: no data chunk")


def copy_pcm(master: Path, start: int, length: int, stdin: BinaryIO) -> None:
    """`length` bytes of `master` from byte `start` of the file, into `stdin`."""
    with master.open("rb") as pcm:
        pcm.seek(start)
        while length > 0 and (piece := pcm.read(min(length, 1 << 20))):
            stdin.write(piece)
            length -= len(piece)


def floor_run(minutes: float, env: dict[str, str], master: Path) -> Run:
    """ffmpeg alone: the same encoder command pmr uses, fed the session's own PCM."""
    target = OUT / f"floor-{minutes:g}.mp3"
    feed = functools.partial(copy_pcm, master, *pcm_span(master))
    return Run(FLOOR, minutes, *measure(Mp3Writer(target).command(target), env, feed))


# Two encoders, each piped its byte range of a file by a thread, both at once (stdlib only:
# the process that feeds them starts in ~20 ms, as a build's forked workers cost no start-up)
PAIR_FEEDER = """
import json, subprocess, sys, threading
def feed(command, path, start, length):
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE)
    with open(path, "rb") as pcm, encoder.stdin:
        pcm.seek(start)
        while length > 0 and (piece := pcm.read(min(length, 1 << 20))):
            encoder.stdin.write(piece)
            length -= len(piece)
    codes.append(encoder.wait())
codes = []
threads = [threading.Thread(target=feed, args=job) for job in json.loads(sys.argv[1])]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
sys.exit(max(codes))
"""


def pair_run(minutes: float, env: dict[str, str], master: Path) -> Run:
    """Two of the chunks' encoders at once, each on half of the session's PCM."""
    offset, size = pcm_span(master)
    half = size // (2 * CHANNELS * 4) * CHANNELS * 4
    jobs = [
        (chunk_command(SAMPLE_RATE_HZ, CHANNELS, MP3_BITRATE, index == 0, out), str(master),
         offset + start, length)
        for index, (start, length) in enumerate(((0, half), (half, size - half)))
        if (out := OUT / f"half-{index}.mp3")
    ]  # fmt: skip
    command = [sys.executable, "-S", "-c", PAIR_FEEDER, json.dumps(jobs)]
    return Run(PAIR, minutes, *measure(command, env))


# One in-process LAME (reservoir on, the serial encode's settings) fed the master's PCM in the
# render's blocks as it reads them, in a process of its own (its Python and numpy start-up,
# ~0.15 s, counted)
LAME_FEEDER = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from pipeline.lame import LameEncoder, kbps
from pipeline.tuning import BLOCK_FRAMES, CHANNELS, MP3_BITRATE, SAMPLE_RATE_HZ
path, offset, size, out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
block = BLOCK_FRAMES * CHANNELS * 4
encoder = LameEncoder(SAMPLE_RATE_HZ, CHANNELS, kbps(MP3_BITRATE), reservoir=True, info_frame=False)
with (encoder as lame,
      open(path, "rb") as pcm, open(out, "wb") as file):
    pcm.seek(offset)
    while size > 0 and (piece := pcm.read(min(size, block))):
        file.write(lame.encode(np.frombuffer(piece, "<f4").reshape(-1, CHANNELS)))
        size -= len(piece)
    file.write(lame.flush())
"""


def lame_floor_run(minutes: float, env: dict[str, str], master: Path) -> Run:
    """The chunks' in-process encoder on the whole session's PCM, one pass, reservoir on."""
    offset, size = pcm_span(master)
    out = OUT / f"lame-floor-{minutes:g}.mp3"
    command = [sys.executable, "-c", LAME_FEEDER, str(ROOT), str(master), str(offset),
               str(size), str(out)]  # fmt: skip
    return Run(LAME_FLOOR, minutes, *measure(command, env))


def pmr_run(minutes: float, env: dict[str, str], routine: str, jobs: int = 1) -> Run:
    out = OUT / f"pmr-{routine}-{minutes:g}-j{jobs}.mp3"
    command = [str(BIN / "pmr"), "build", routine, "--minutes", f"{minutes:g}", "--out", str(out)]
    return Run(PMR if jobs == 1 else CHUNKED, minutes, *measure([*command, "-j", str(jobs)], env))


def baseline_run(minutes: float, env: dict[str, str], routine: str) -> Run:
    out = OUT / f"pydub-{routine}-{minutes:g}.mp3"
    script = ROOT / "scripts" / "baseline_pydub.py"
    command = [sys.executable, str(script), routine, f"{minutes:g}", str(out)]
    return Run(PYDUB, minutes, *measure(command, env))


def cold_narration(env: dict[str, str], routine: str) -> dict[str, float]:
    """Piper synthesis speed from an empty cache, in x realtime."""
    from pipeline.narration import ClipCache, load_voice, narrate
    from pipeline.template import load_script

    cache = OUT / "cold-cache"
    shutil.rmtree(cache, ignore_errors=True)
    script = load_script(routine)
    start = time.perf_counter()
    clips = narrate(script, load_voice("piper-joe"), ClipCache(cache), SAMPLE_RATE_HZ)
    seconds = time.perf_counter() - start
    audio_s = sum(clips.frames.values()) / SAMPLE_RATE_HZ
    shutil.rmtree(cache, ignore_errors=True)
    return {"audio_s": audio_s, "synth_s": seconds, "x_realtime": audio_s / seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", default="5,20,60,120", help="pmr build lengths")
    parser.add_argument("--baseline", default="20,60", help="pydub baseline lengths")
    parser.add_argument("--routine", default="sleep", help="the routine (it reaches 7 to 142 min)")
    parser.add_argument("--short-routine", default="quick", help="for lengths under 7 min")
    parser.add_argument(
        "--quick", action="store_true", help="5 and 20 min only, no pydub baseline, no cold run"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help=f"rounds of each length <= {REPEAT_UP_TO_MIN} min"
    )
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.baseline = "5,20", ""
    lengths = [float(m) for m in args.minutes.split(",")]
    baseline_lengths = [float(m) for m in args.baseline.split(",") if m]
    OUT.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PMR_CACHE_DIR=str(OUT / "cache"))

    print("warming the narration cache ...", flush=True)
    # a real short build of each routine: narration, loudness sidecars and peak envelopes cached
    for routine, minutes in ((args.routine, 8), (args.short_routine, 5)):
        warm = [str(BIN / "pmr"), "build", routine, "-m", str(minutes), "--out", str(OUT / "w.mp3")]
        subprocess.run(warm, env=env, check=True, stdout=subprocess.DEVNULL)
    cold = None if args.quick else cold_narration(env, args.routine)
    runs: list[Run] = []
    for minutes in lengths:
        routine = args.short_routine if minutes < 7 else args.routine
        master = write_master(minutes, env, routine)
        for repeat in range(max(1, args.repeat) if minutes <= REPEAT_UP_TO_MIN else 1):
            new = [floor_run(minutes, env, master), pmr_run(minutes, env, routine)]
            new += [pmr_run(minutes, env, routine, jobs=2), pair_run(minutes, env, master)]
            new.append(lame_floor_run(minutes, env, master))
            if repeat == 0:
                new.append(noise_floor_run(minutes, env))
                ffmpeg_chunks = dict(env, PMR_CHUNK_ENCODER="ffmpeg")
                new.append(
                    replace(pmr_run(minutes, ffmpeg_chunks, routine, 2), what=CHUNKED_FFMPEG)
                )
            if minutes in baseline_lengths and repeat == 0:
                new.append(baseline_run(minutes, env, routine))
            new = [replace(run, repeat=repeat) for run in new]
            runs += new
            for run in new:
                print(
                    f"  {run.what:<18} {run.minutes:>5g} min  {run.seconds:7.2f} s  "
                    f"{run.cpu_s:7.2f} CPU s  {run.peak_pss_mb:7.1f} MB PSS  "
                    f"{run.peak_rss_mb:7.1f} MB RSS  "
                    f"{'ok' if run.ok else 'FAILED ' + run.note}",
                    flush=True,
                )
        master.unlink()  # (2.5 GB at 2 hours)

    report = verdicts(runs, cold)
    print(report["table"])
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, "
        f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB",
        "python": platform.python_version(),
    }
    (OUT / "bench.json").write_text(
        json.dumps(
            {
                "meta": meta,
                "runs": [asdict(r) for r in runs],
                "cold_narration": cold,
                "targets": report["targets"],
            },
            indent=2,
        )
    )
    plot(runs, OUT / "bench.png")
    print(f"wrote {OUT / 'bench.json'} and {OUT / 'bench.png'}")
    return 0 if all(t["ok"] for t in report["targets"]) else 1


# name, (run, minutes) over (run, minutes) (None: the value itself), field, bar, better
# (a bar of None: a figure reported beside the others, with no verdict)
TARGETS = (
    ("20 min build / ffmpeg floor", (PMR, 20), (FLOOR, 20), "seconds", 1.15, "<="),
    ("20 min build CPU / floor CPU", (PMR, 20), (FLOOR, 20), "cpu_s", 1.25, "<="),
    ("60 min build / 20 min build", (PMR, 60), (PMR, 20), "seconds", 3.3, "<="),
    ("20 min -j 2 / ffmpeg floor", (CHUNKED, 20), (FLOOR, 20), "seconds", 0.65, "<="),
    ("20 min -j 2 CPU / floor CPU", (CHUNKED, 20), (FLOOR, 20), "cpu_s", 1.25, "<="),
    ("20 min -j 2 / 2 encoders alone", (CHUNKED, 20), (PAIR, 20), "seconds", None, ""),
    ("20 min 2 encoders alone / floor", (PAIR, 20), (FLOOR, 20), "seconds", None, ""),
    ("20 min -j 2 / floor on noise", (CHUNKED, 20), (NOISE_FLOOR, 20), "seconds", None, ""),
    ("20 min -j 2 / in-process LAME", (CHUNKED, 20), (LAME_FLOOR, 20), "seconds", None, ""),
    ("20 min in-process LAME / floor", (LAME_FLOOR, 20), (FLOOR, 20), "seconds", None, ""),
    ("20 min -j 2 ffmpeg chunks / floor", (CHUNKED_FFMPEG, 20), (FLOOR, 20), "seconds", None, ""),
    ("60 min -j 2 / 20 min -j 2", (CHUNKED, 60), (CHUNKED, 20), "seconds", 3.3, "<="),
    ("peak PSS at 20 min, -j 2 (MB)", (CHUNKED, 20), None, "peak_pss_mb", 250, "<="),
    ("peak PSS at 120 min, -j 2 (MB)", (CHUNKED, 120), None, "peak_pss_mb", 250, "<="),
    ("peak PSS of the tree at 20 min (MB)", (PMR, 20), None, "peak_pss_mb", 200, "<="),
    ("peak PSS of the tree at 120 min (MB)", (PMR, 120), None, "peak_pss_mb", 200, "<="),
    ("pydub / pmr at 20 min", (PYDUB, 20), (PMR, 20), "seconds", 2, ">="),
    ("pydub / pmr at 60 min", (PYDUB, 60), (PMR, 60), "seconds", 5, ">="),
)


def verdicts(runs: list[Run], cold: dict[str, float] | None) -> dict:
    """Each target's value and verdict; a target whose runs were not asked for (a --quick
    run, other --minutes) is 'not run' and does not fail the bench, a failed run does. A ratio
    is the median over rounds of the ratio within a round (or of the medians, where the two
    lengths had different rounds); a peak memory figure is the largest of its rounds."""

    def measured(what: str, minutes: float) -> dict[int, Run]:
        return {r.repeat: r for r in runs if r.what == what and r.minutes == minutes and r.ok}

    def tried(what: str, minutes: float) -> bool:
        return any(r.what == what and r.minutes == minutes for r in runs)

    def value_of(top: tuple, bottom: tuple | None, field: str) -> float | None:
        tops = measured(*top)
        if not tops:
            return None
        if bottom is None:
            values = [getattr(r, field) for r in tops.values()]
            return max(values) if field.startswith("peak") else statistics.median(values)
        bottoms = measured(*bottom)
        if not bottoms:
            return None
        if tops.keys() == bottoms.keys():
            return statistics.median(
                getattr(tops[i], field) / getattr(bottoms[i], field) for i in tops
            )
        return statistics.median(getattr(r, field) for r in tops.values()) / statistics.median(
            getattr(r, field) for r in bottoms.values()
        )

    targets = []
    for name, top, bottom, field, bar, better in TARGETS:
        keys = [top] if bottom is None else [top, bottom]
        value = value_of(top, bottom, field)
        if bar is None:
            shown = "(reported)" if value is not None else "not run"
            targets.append({"target": name, "value": value, "bar": "-", "ok": True,
                            "verdict": shown})  # fmt: skip
            continue
        ok = value is not None and (value <= bar if better == "<=" else value >= bar)
        verdict = "ok" if ok else "MISSED" if all(tried(*k) for k in keys) else "not run"
        targets.append({"target": name, "value": value, "bar": f"{better} {bar:g}",
                        "ok": ok or verdict == "not run", "verdict": verdict})  # fmt: skip

    def floor_of(run: Run) -> Run | None:
        floors = measured(FLOOR, run.minutes)
        return floors.get(run.repeat) or next(iter(floors.values()), None)

    return {"table": table(runs, cold, targets, floor_of), "targets": targets}


def table(runs: list[Run], cold: dict[str, float] | None, targets: list[dict], floor_of) -> str:
    head = ("what", "min", "round", "time s", "x floor", "CPU s", "x fl CPU", "PSS MB", "RSS MB")
    rows = ["", f"{head[0]:<18} {head[1]:>5} {head[2]:>5}" + "".join(f" {h:>8}" for h in head[3:])]
    for r in runs:
        floor = floor_of(r)
        x = f"{r.seconds / floor.seconds:8.2f}" if floor and r.ok else "       -"
        x_cpu = f"{r.cpu_s / floor.cpu_s:8.2f}" if floor and r.ok and floor.cpu_s else "       -"
        rows.append(
            f"{r.what:<18} {r.minutes:>5g} {r.repeat + 1:>5} {r.seconds:>8.2f} {x} {r.cpu_s:>8.2f}"
            f" {x_cpu} {r.peak_pss_mb:>8.1f} {r.peak_rss_mb:>8.1f}"
            + ("" if r.ok else f"  FAILED: {r.note}")
        )
    if cold is not None:
        rows.append(
            f"\ncold Piper narration: {cold['audio_s']:.0f} s of speech in "
            f"{cold['synth_s']:.1f} s = {cold['x_realtime']:.1f} x realtime"
        )
    rows += ["", f"{'target (median of rounds)':<36} {'value':>9} {'bar':>8}  verdict"]
    for t in targets:
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        rows.append(f"{t['target']:<36} {value:>9} {t['bar']:>8}  {t['verdict']}")
    return "\n".join(rows)


def plot(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for what in dict.fromkeys(r.what for r in runs):
        lengths = sorted({r.minutes for r in runs if r.what == what and r.ok})
        points = [  # the median round's time, the largest round's memory
            (m, statistics.median(r.seconds for r in same), max(r.peak_pss_mb for r in same))
            for m in lengths
            if (same := [r for r in runs if r.what == what and r.minutes == m and r.ok])
        ]
        if points:
            m, s, rss = zip(*points, strict=True)
            left.plot(m, s, marker="o", label=what)
            right.plot(m, rss, marker="o", label=what)
    left.set(xlabel="session length (min)", ylabel="wall time (s)", title="Time")
    right.set(xlabel="session length (min)", ylabel="peak PSS, process tree (MB)", title="Memory")
    right.axhline(200, color="grey", linestyle=":", label="200 MB bar")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    raise SystemExit(main())
