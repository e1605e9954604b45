"""Run a assessed batch: narration first (each unique line once), then variants in parallel.

Narration runs in this process, one (routine, voice) pair after another, so every unique
(line, voice) is synthesized once through the shared clip cache and each engine is driven at
its own pace (Piper loads its model once). Rendering then fans out: to worker processes on this
machine (`local`), or to a dask.distributed cluster (`dask`) whose workers share the cache and
output folders. A variant's failure is recorded with its reason and never stops the others.

Ctrl-C: workers ignore SIGINT; the parent cancels what hasn't started and sends SIGTERM to the
workers, which unwind their `with` blocks (ffmpeg killed, temp file removed) and exit. Finished
outputs and their stamps stay, so the next run skips them.
"""

from __future__ import annotations

import fcntl
import glob
import multiprocessing
import os
import signal
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from ..build import BuildOptions, build
from ..errors import BatchError, PmrError
from ..narration import ClipCache, narrate
from ..publish import sidecar_paths
from .staleness import Assessed, stamp_path, write_stamp

Status = Literal["built", "skipped", "failed"]
EXECUTORS = ("local", "dask")
DASK_CONNECT_S = 10


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


@dataclass(frozen=True)
class BatchProgress:
    """BatchProgress: ('narrating', '', lines done, lines), ('rendering', label, frames, frames),
    ('done', label, variants done, variants to build)."""

    kind: Literal["narrating", "rendering", "done"]
    label: str
    done: int
    total: int


OnProgress = Callable[[BatchProgress], None]


@dataclass(frozen=True)
class Rendered:
    """What a worker sends back: a failure travels as a value, never as an exception."""

    reason: str = ""  # empty when the output was written
    seconds: float = 0.0  # session length
    size_bytes: int = 0
    wall_s: float = 0.0  # time the worker spent on it (not the time it waited in the queue)


@dataclass(frozen=True)
class Job:
    """One variant to render, as sent to a worker."""

    assessed: Assessed
    options: BuildOptions  # absolute paths: workers may run elsewhere
    stamp: bool = True  # False after an unasked-for fallback: the next run retries
    note: str = ""  # said in the report beside a built variant


def run_batch(
    assessed: Sequence[Assessed],
    *,
    cache_dir: Path,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    on_event: OnProgress | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> BatchReport:
    """Build every variant that is not up to date; `jobs` worker processes for `local`
    (default: the number of cores), the cluster's workers for `dask`."""
    if executor not in EXECUTORS:
        raise BatchError(f"--executor {executor!r}: valid: {', '.join(EXECUTORS)}")
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
    client = _connect_dask(scheduler) if executor == "dask" and todo else None
    try:
        return _run(assessed, todo, outcomes, cache_dir, jobs, client, emit, on_notice, started)
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
) -> BatchReport:
    narrated = narrate_all(todo, ClipCache(cache_dir), emit, on_notice)

    jobs_: list[Job] = []
    for p in todo:
        pair = _pair(p)
        reason = narrated.errors.get(pair) or _make_folder(p.variant.out.parent)
        if reason:
            outcomes[p.variant.out] = Outcome(p.variant.label, p.variant.out, "failed", reason)
            emit(BatchProgress("done", p.variant.label, _built_or_failed(outcomes), len(todo)))
            continue
        options = replace(p.variant.build_options(cache_dir), out=p.variant.out.absolute())
        note = narrated.fell_back.get(pair, "")
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
        label = job.assessed.variant.label
        emit(BatchProgress("done", label, _built_or_failed(outcomes), len(todo)))

    if todo:
        # shows the overall bar
        emit(BatchProgress("done", "", _built_or_failed(outcomes), len(todo)))
    try:
        if client is not None:
            _run_dask(jobs_, client, finished)
        else:
            _run_local(jobs_, jobs or os.cpu_count() or 1, finished, emit)
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


Pair = tuple[str, str, int, bool, bool, bool]


def _pair(p: Assessed) -> Pair:
    """What narration depends on: routine, voice, sample rate (Hz) and the narration options
    (offline, strict, fill_missing)."""
    o = p.variant.build_options(None)
    return (p.variant.routine, p.variant.voice, o.rate_hz, o.offline, o.strict, o.fill_missing)


@dataclass(frozen=True)
class Narrated:
    unique: int  # unique (voice, rate, line text) over the pairs narrated
    synthesized: int  # clips the engines made
    errors: dict[Pair, str]  # pairs whose narration failed: their variants fail with the reason
    fell_back: dict[Pair, str]  # pairs a fallback voice helped out although not asked to
    notices: tuple[str, ...]


def narrate_all(
    todo: Sequence[Assessed],
    cache: ClipCache,
    emit: OnProgress,
    on_notice: Callable[[str], None] | None = None,
) -> Narrated:
    """Synthesize the union of lines over all variants to build, each (line, voice) once,
    pair after pair (each engine speaks at its own concurrency, inside `narrate`).

    A fallback that the options didn't ask for (an online engine unreachable) is remembered:
    those variants are built from the fallback's clips but not stamped, so the next run
    tries the real voice again.
    """
    pairs: dict[Pair, Assessed] = {}
    for p in todo:
        pairs.setdefault(_pair(p), p)
    unique = {
        (p.voice.name, pair[2], line.text) for pair, p in pairs.items() for line in p.script.lines()
    }
    total = sum(len(list(p.script.lines())) for p in pairs.values())
    done, made = 0, 0
    errors: dict[Pair, str] = {}
    fell_back: dict[Pair, str] = {}
    notices: list[str] = []
    for pair, p in pairs.items():
        _, _, rate, offline, strict, fill_missing = pair
        offset = done

        def progress(stage: str, n: int, _: int, offset: int = offset) -> None:
            emit(BatchProgress("narrating", "", offset + n, total))

        try:
            clips = narrate(
                p.script,
                p.voice,
                cache,
                rate,
                progress,
                offline=offline,
                strict=strict,
                fill_missing=fill_missing,
                on_notice=on_notice,
            )
        except PmrError as exc:
            errors[pair] = str(exc)
        except Exception as exc:  # a bug must not stop the other pairs
            errors[pair] = f"internal error while narrating: {type(exc).__name__}: {exc}"
        else:
            made += clips.synthesized
            notices += clips.notices
            others = sorted(set(clips.voices.values()) - {p.voice.name})
            if others and not (offline or fill_missing):
                fell_back[pair] = (
                    f"spoken by {', '.join(others)} ({p.voice.name} could not speak); "
                    "not stamped, so the next run tries again"
                )
        done += len(list(p.script.lines()))
        emit(BatchProgress("narrating", "", done, total))
    return Narrated(len(unique), made, errors, fell_back, tuple(notices))


def render_variant(job: Job, on_progress=None) -> Rendered:
    """Build one variant and stamp it; any failure comes back as a reason, so it travels from
    any worker. The stamp is written here, right after the output lands, so an output that
    is finished when a batch is interrupted is recognised by the next run."""
    start = time.monotonic()
    options = job.options
    try:
        result = build(options, on_progress)
        if job.stamp:
            write_stamp(result.path, job.assessed.key, job.assessed.variant)
    except PmrError as exc:
        return Rendered(str(exc), wall_s=time.monotonic() - start)
    except OSError as exc:
        reason = f"can't write the stamp {stamp_path(options.out)}: {exc.strerror or exc}"
        return Rendered(reason, wall_s=time.monotonic() - start)
    except Exception as exc:  # a bug in one variant must not stop the others
        reason = f"internal error: {type(exc).__name__}: {exc}"
        return Rendered(reason, wall_s=time.monotonic() - start)
    return Rendered("", result.timeline.seconds, result.size_bytes, time.monotonic() - start)


# --- local processes -------------------------------------------------------------------------

_queue: Any = None  # in a worker: where progress goes
_busy = False


def _init_worker(queue: Any) -> None:
    """In each worker: Ctrl-C is the parent's to handle; SIGTERM unwinds a running build."""
    global _queue
    _queue = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: object) -> None:
    if not _busy:
        os._exit(130)
    raise KeyboardInterrupt  # unwinds build(): Mp3Writer kills ffmpeg and removes its temp file


def _local_task(job: Job) -> Rendered:
    global _busy

    def progress(stage: str, done: int, total: int) -> None:
        if _queue is not None and stage == "rendering":
            _queue.put((job.assessed.variant.label, done, total))

    _busy = True
    try:
        return render_variant(job, progress)
    except KeyboardInterrupt:
        os._exit(130)  # the with-blocks inside build() have cleaned up by now
    finally:
        _busy = False


def _run_local(
    todo: Sequence[Job],
    jobs: int,
    finished: Callable[[Job, Rendered], None],
    emit: OnProgress,
) -> None:
    if not todo:
        return
    # spawn: workers start clean (no inherited engine threads), the same on every platform.
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    relay = threading.Thread(target=_relay, args=(queue, emit), daemon=True)
    relay.start()
    pool = ProcessPoolExecutor(
        max_workers=max(1, min(jobs, len(todo))),
        mp_context=context,
        initializer=_init_worker,
        initargs=(queue,),
    )
    try:
        submitted: dict[Future, Job] = {}
        for job in todo:
            submitted[pool.submit(_local_task, job)] = job
        pending = set(submitted)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                exc = future.exception()
                finished(
                    submitted[future], Rendered(f"worker died: {exc}") if exc else future.result()
                )
    except BaseException:
        _stop(pool)
        raise
    else:
        pool.shutdown()
    finally:
        queue.put(None)
        relay.join(timeout=5)
        queue.close()


def _relay(queue: Any, emit: OnProgress) -> None:
    """Parent side: per-variant render progress from the workers to the progress display."""
    while (item := queue.get()) is not None:
        label, done, total = item
        emit(BatchProgress("rendering", label, done, total))


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop every worker cleanly: SIGTERM, wait, and only then SIGKILL what is left."""
    # Python 3.14 has pool.terminate_workers(); before it, the processes are only reachable here.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()


def _sweep_temp_files(outputs: Sequence[Path]) -> None:
    """Remove what our stopped workers may have left beside each output: .part files of the
    MP3 and its sidecars, a stamp temp and the build's lock file. Only when nobody holds the
    output's lock: a `pmr build` of the same file running elsewhere keeps its files."""
    for out in outputs:
        if not out.parent.is_dir():
            continue
        lock = out.with_name(f".{out.name}.lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: another build of this output is running
            os.close(fd)
            continue
        try:
            names = [out.name, *(p.name for p in sidecar_paths(out).values())]
            for pattern in (
                *(f".{glob.escape(name)}.*.part" for name in names),
                f"{glob.escape(stamp_path(out).name)}.*.tmp",
            ):
                for leftover in out.parent.glob(pattern):
                    leftover.unlink(missing_ok=True)
            lock.unlink(missing_ok=True)
        finally:
            os.close(fd)


# --- dask.distributed --------------------------------------------------------------------------


def _connect_dask(scheduler: str | None):
    if not scheduler:
        raise BatchError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    try:
        from distributed import Client
    except ImportError:
        raise BatchError(
            "--executor dask needs dask.distributed: install pmr with the dask extra "
            "(pip install 'pmr[dask]')"
        ) from None
    _probe(scheduler)
    try:
        return Client(scheduler, timeout=f"{DASK_CONNECT_S}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(
            f"--scheduler {scheduler}: can't reach the dask scheduler ({exc})"
        ) from None


def _probe(scheduler: str) -> None:
    """A refused tcp:// address fails at once (dask itself retries until its timeout)."""
    parts = urllib.parse.urlsplit(scheduler)
    if parts.scheme != "tcp":
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise BatchError(f"--scheduler {scheduler}: give an address like tcp://HOST:8786")
    try:
        socket.create_connection((host, port), timeout=DASK_CONNECT_S).close()
    except OSError as exc:
        raise BatchError(
            f"--scheduler {scheduler}: can't reach the dask scheduler ({exc.strerror or exc})"
        ) from None


def _run_dask(
    todo: Sequence[Job],
    client: Any,
    finished: Callable[[Job, Rendered], None],
) -> None:
    """Variants as dask tasks. Workers need pmr installed and the same cache and output paths
    (a shared filesystem); each worker stamps the outputs it writes."""
    from distributed import as_completed

    submitted = {}
    try:
        for job in todo:
            submitted[client.submit(render_variant, job, pure=False)] = job
        for future in as_completed(list(submitted), loop=client.loop):
            try:
                rendered = future.result()
            except Exception as exc:  # a worker lost, or pmr missing on a worker
                rendered = Rendered(f"dask: {type(exc).__name__}: {exc}")
            finished(submitted[future], rendered)
    except BaseException:
        client.cancel(list(submitted))
        raise
