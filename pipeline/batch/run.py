"""Run a assessed batch: narration first (each unique line once), then variants in parallel.

Narration runs in this process first (`narrate.py`), so every unique (line, voice) is
synthesized once through the shared clip cache. Rendering then fans out as `jobs.Job`s: to
worker processes on this machine (`local.py`), or to a dask.distributed cluster (`cluster.py`)
whose workers share the cache and output folders. A variant's failure is recorded with its
reason and never stops the others.

Ctrl-C: workers ignore SIGINT; the parent cancels what hasn't started and sends SIGTERM to the
workers, which unwind their `with` blocks (ffmpeg killed, temp file removed) and exit. Finished
outputs and their stamps stay, so the next run skips them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from ..cluster import check_executor, connect_dask
from ..files import sweep_if_unlocked
from ..narration import ClipCache
from ..publish import sidecar_paths
from .cluster import run_dask
from .jobs import BatchProgress, Job, OnProgress, Rendered
from .local import run_local
from .narrate import NarrationKey, narrate_all
from .staleness import Assessed, stamp_path

Status = Literal["built", "skipped", "failed"]


@dataclass(frozen=True)
class Outcome:
    label: str
    out: Path
    status: Status
    reason: str = ""
    seconds: float = 0.0  # session length; 0 when not built now
    size_bytes: int = 0
    wall_s: float = 0.0  # time this variant took to render


@dataclass(frozen=True)
class BatchReport:
    outcomes: tuple[Outcome, ...]
    unique_lines: int  # unique (line, voice, rate) among the variants that were built
    synthesized: int  # clips the engines made in this run
    wall_s: float
    notices: tuple[str, ...] = ()  # from narration: fallbacks, repaired cache entries

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def run_batch(
    assessed: Sequence[Assessed],
    *,
    cache_dir: Path,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    on_event: OnProgress | None = None,
    on_notice: Callable[[str], None] | None = None,
    force: bool = False,
) -> BatchReport:
    """Build every variant that is not up to date; `jobs` worker processes for `local`
    (default: the number of cores), the cluster's workers for `dask`. `force`: the builds
    may replace any regular file at their outputs (see files.check_target)."""
    check_executor(executor)
    started = time.monotonic()
    emit = on_event or (lambda event: None)
    cache_dir = Path(cache_dir).absolute()
    todo = [p for p in assessed if not p.up_to_date]
    outcomes: dict[Path, Outcome] = {
        p.variant.out: Outcome(
            p.variant.label, p.variant.out, "skipped", "up to date", 0.0, _size(p.variant.out)
        )
        for p in assessed
        if p.up_to_date
    }
    # A cluster that can't be reached fails fast (exit 2), before any narration.
    client = connect_dask(scheduler) if executor == "dask" and todo else None
    try:
        return _run(
            assessed, todo, outcomes, cache_dir, jobs, client, emit, on_notice, started, force
        )
    finally:
        if client is not None:
            client.close()


def _run(
    assessed: Sequence[Assessed],
    todo: Sequence[Assessed],
    outcomes: dict[Path, Outcome],
    cache_dir: Path,
    jobs: int | None,
    client: Any,
    emit: OnProgress,
    on_notice: Callable[[str], None] | None,
    started: float,
    force: bool = False,
) -> BatchReport:
    narrated = narrate_all(todo, ClipCache(cache_dir), emit, on_notice)

    jobs_: list[Job] = []
    for p in todo:
        key = NarrationKey.of(p)
        reason = narrated.errors.get(key) or _make_folder(p.variant.out.parent)
        if reason:
            outcomes[p.variant.out] = Outcome(p.variant.label, p.variant.out, "failed", reason)
            emit(BatchProgress("done", p.variant.label, _built_or_failed(outcomes), len(todo)))
            continue
        options = replace(
            p.variant.build_options(cache_dir), out=p.variant.out.absolute(), force=force
        )
        note = narrated.fell_back.get(key, "")
        if note:  # the workers use the clips the fallback made, without trying the network
            options = replace(options, offline=True)
        jobs_.append(Job(p, options, stamp=not note, note=note))

    def finished(job: Job, r: Rendered) -> None:
        out = job.assessed.variant.out
        status: Status = "failed" if r.reason else "built"
        outcomes[out] = Outcome(
            job.assessed.variant.label,
            out,
            status,
            r.reason or job.note,
            r.seconds,
            r.size_bytes,
            r.wall_s,
        )
        emit(
            BatchProgress("done", job.assessed.variant.label, _built_or_failed(outcomes), len(todo))
        )

    if todo:
        emit(
            BatchProgress("done", "", _built_or_failed(outcomes), len(todo))
        )  # shows the overall bar
    try:
        if client is not None:
            run_dask(jobs_, client, finished)
        else:
            run_local(jobs_, jobs or os.cpu_count() or 1, finished, emit)
    finally:
        _sweep_temp_files([job.assessed.variant.out for job in jobs_])
    ordered = tuple(outcomes[p.variant.out] for p in assessed)
    return BatchReport(
        ordered, narrated.unique, narrated.synthesized, time.monotonic() - started, narrated.notices
    )


def _make_folder(folder: Path) -> str:
    """'' when the output folder exists (created if needed), else why it can't be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"can't create the output folder {folder}: {exc.strerror or exc}"
    return ""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _built_or_failed(outcomes: dict[Path, Outcome]) -> int:
    return sum(1 for o in outcomes.values() if o.status != "skipped")


def _sweep_temp_files(outputs: Sequence[Path]) -> None:
    """Remove what our stopped workers may have left beside each output: temp files of the
    MP3, its sidecars and its stamp, and the build's lock file. Only when nobody holds the
    output's lock: a `pmr build` of the same file running elsewhere keeps its files."""
    for out in outputs:
        if out.parent.is_dir():
            sweep_if_unlocked(out, (*sidecar_paths(out).values(), stamp_path(out)))
