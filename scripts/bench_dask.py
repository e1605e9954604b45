"""One session built locally with -j 2 and on a dask LocalCluster of two worker processes
(one thread each) with -j 2: wall time and CPU seconds of each, and whether the MP3 frames
agree. Narration is warmed first by an untimed local build.

    .venv/bin/python scripts/bench_dask.py [ROUTINE] [MINUTES]

CPU of the dask build: the `pmr build` process tree (the client: join, meter, remux) plus the
worker processes and their encoders, read from psutil before and after.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

PMR = str(Path(sys.executable).with_name("pmr"))


def tree_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pids: list[int]) -> float:
    """CPU seconds of processes and the children they reaped (the workers' encoders)."""
    return sum(sum(psutil.Process(pid).cpu_times()[:4]) for pid in pids)


def timed(args: list[str], pids: list[int]) -> tuple[float, float]:
    before, workers, start = tree_cpu(), process_cpu(pids), time.monotonic()
    subprocess.run([PMR, "build", *args, "-q"], check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - start
    return wall, tree_cpu() - before + process_cpu(pids) - workers


def audio(path: Path) -> bytes:
    data = path.read_bytes()
    return data[10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10])) :]


def main() -> None:
    import distributed

    routine = sys.argv[1] if len(sys.argv) > 1 else "sleep"
    minutes = sys.argv[2] if len(sys.argv) > 2 else "20"
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        base = [routine, "-m", minutes, "-j", "2"]
        warm = timed([*base, "-o", str(out / "warm.mp3")], [])
        local = timed([*base, "-o", str(out / "local.mp3")], [])
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
            pids = list(client.run(os.getpid).values())
            remote = timed(
                [*base, "-o", str(out / "dask.mp3"), "--executor", "dask", "--scheduler",
                 cluster.scheduler_address],
                pids,
            )  # fmt: skip
        same = audio(out / "local.mp3") == audio(out / "dask.mp3")
    print(
        f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
    )
    print(f"pmr build {routine} -m {minutes} -j 2 (warm-up, narration): {warm[0]:.1f} s wall")
    for label, (wall, cpu) in (("local", local), ("dask LocalCluster(2 procs)", remote)):
        print(f"  {label:<28} {wall:6.1f} s wall {cpu:6.1f} s CPU")
    print(f"  MP3 frames identical: {same}; load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
