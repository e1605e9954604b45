"""Run a planned batch: narration first (each unique line once), then variants in parallel.

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
from .plan import Planned, stamp_path, write_stamp

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

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(frozen=True)
class Event:
    """Progress: ('narrating', '', lines done, lines), ('rendering', label, frames, frames),
    ('done', label, variants done, variants to build)."""

    kind: Literal["narrating", "rendering", "done"]
    label: str
    done: int
    total: int


OnEvent = Callable[[Event], None]


@dataclass(frozen=True)
class Rendered:
    """What a worker sends back: a failure travels as a value, never as an exception."""

    reason: str = ""  # empty when the output was written
    seconds: float = 0.0  # session length
    size_bytes: int = 0
    wall_s: float = 0.0  # time the worker spent on it (not the time it waited in the queue)


def run_batch(
    planned: Sequence[Planned],
    *,
    cache_dir: Path,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    on_event: OnEvent | None = None,
) -> BatchReport:
    """Build every variant that is not up to date; `jobs` worker processes for `local`
    (default: the number of cores), the cluster's workers for `dask`."""
    if executor not in EXECUTORS:
        raise BatchError(f"--executor {executor!r}: valid: {', '.join(EXECUTORS)}")
    started = time.monotonic()
    emit = on_event or (lambda event: None)
    cache_dir = Path(cache_dir).absolute()
    todo = [p for p in planned if not p.up_to_date]
    outcomes: dict[Path, Outcome] = {
        p.variant.out: Outcome(
            p.variant.label, p.variant.out, "skipped", "up to date", 0.0, _size(p.variant.out)
        )
        for p in planned
        if p.up_to_date
    }
    # A cluster that can't be reached fails fast (exit 2), before any narration.
    client = _connect_dask(scheduler) if executor == "dask" and todo else None
    try:
        return _run(planned, todo, outcomes, cache_dir, jobs, client, emit, started)
    finally:
        if client is not None:
            client.close()


def _run(
    planned: Sequence[Planned],
    todo: Sequence[Planned],
    outcomes: dict[Path, Outcome],
    cache_dir: Path,
    jobs: int | None,
    client: Any,
    emit: OnEvent,
    started: float,
) -> BatchReport:
    unique, synthesized, narration_errors = narrate_all(todo, ClipCache(cache_dir), emit)

    runnable = []
    for p in todo:
        reason = narration_errors.get(_pair(p)) or _make_folder(p.variant.out.parent)
        if reason:
            outcomes[p.variant.out] = Outcome(p.variant.label, p.variant.out, "failed", reason)
            emit(Event("done", p.variant.label, _built_or_failed(outcomes), len(todo)))
        else:
            runnable.append(p)

    def finished(p: Planned, r: Rendered) -> None:
        out = p.variant.out
        status: Status = "failed" if r.reason else "built"
        outcomes[out] = Outcome(
            p.variant.label, out, status, r.reason, r.seconds, r.size_bytes, r.wall_s
        )
        emit(Event("done", p.variant.label, _built_or_failed(outcomes), len(todo)))

    if todo:
        emit(Event("done", "", _built_or_failed(outcomes), len(todo)))  # shows the overall bar
    try:
        if client is not None:
            _run_dask(runnable, cache_dir, client, finished)
        else:
            _run_local(runnable, cache_dir, jobs or os.cpu_count() or 1, finished, emit)
    finally:
        _sweep_temp_files([p.variant.out for p in runnable])
    ordered = tuple(outcomes[p.variant.out] for p in planned)
    return BatchReport(ordered, unique, synthesized, time.monotonic() - started)


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


def _pair(p: Planned) -> tuple[str, str, int]:
    """What narration depends on: (routine, voice, sample rate in Hz)."""
    return (p.variant.routine, p.variant.voice, p.variant.build_options(None).rate_hz)


def narrate_all(
    todo: Sequence[Planned], cache: ClipCache, emit: OnEvent
) -> tuple[int, int, dict[tuple[str, str, int], str]]:
    """Synthesize the union of lines over all variants to build, each (line, voice) once.

    Returns (unique lines, clips synthesized, {(routine, voice, rate): reason} for the pairs
    whose narration failed: their variants fail with that reason, the others go on).
    """
    pairs: dict[tuple[str, str, int], Planned] = {}
    for p in todo:
        pairs.setdefault(_pair(p), p)
    unique = {
        (p.voice.name, rate, line.text)
        for (_, _, rate), p in pairs.items()
        for line in p.script.lines()
    }
    total = sum(len(list(p.script.lines())) for p in pairs.values())
    done, made, errors = 0, 0, {}
    for (routine, voice, rate), p in pairs.items():
        offset = done

        def progress(stage: str, n: int, _: int, offset: int = offset) -> None:
            emit(Event("narrating", "", offset + n, total))

        try:
            made += narrate(p.script, p.voice, cache, rate, progress).synthesized
        except PmrError as exc:
            errors[(routine, voice, rate)] = str(exc)
        done += len(list(p.script.lines()))
        emit(Event("narrating", "", done, total))
    return len(unique), made, errors


def render_variant(options: BuildOptions, planned: Planned, on_progress=None) -> Rendered:
    """Build one variant and stamp it; any failure comes back as a reason, so it travels from
    any worker. The stamp is written here, right after the output lands, so an output that
    is finished when a batch is interrupted is recognised by the next run."""
    start = time.monotonic()
    try:
        result = build(options, on_progress)
        write_stamp(result.path, planned.key, planned.variant)
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


def _local_task(options: BuildOptions, planned: Planned) -> Rendered:
    global _busy

    def progress(stage: str, done: int, total: int) -> None:
        if _queue is not None and stage == "rendering":
            _queue.put((planned.variant.label, done, total))

    _busy = True
    try:
        return render_variant(options, planned, progress)
    except KeyboardInterrupt:
        os._exit(130)  # the with-blocks inside build() have cleaned up by now
    finally:
        _busy = False


def _run_local(
    todo: Sequence[Planned],
    cache_dir: Path,
    jobs: int,
    finished: Callable[[Planned, Rendered], None],
    emit: OnEvent,
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
        submitted: dict[Future, Planned] = {}
        for p in todo:
            options = replace(p.variant.build_options(cache_dir), out=p.variant.out.absolute())
            submitted[pool.submit(_local_task, options, p)] = p
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


def _relay(queue: Any, emit: OnEvent) -> None:
    """Parent side: per-variant render progress from the workers to the progress display."""
    while (item := queue.get()) is not None:
        label, done, total = item
        emit(Event("rendering", label, done, total))


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
    """Remove temp files our outputs may have left after an interrupt (encoder .part files and
    stamp temps; both are named after the output, so nothing else is touched)."""
    for out in outputs:
        folder = out.parent
        if not folder.is_dir():
            continue
        patterns = (f".{out.name}.*.part", f"{stamp_path(out).name}.*.tmp")
        for pattern in patterns:
            for leftover in folder.glob(pattern):
                leftover.unlink(missing_ok=True)


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
    todo: Sequence[Planned],
    cache_dir: Path,
    client: Any,
    finished: Callable[[Planned, Rendered], None],
) -> None:
    """Variants as dask tasks. Workers need pmr installed and the same cache and output paths
    (a shared filesystem); each worker stamps the outputs it writes."""
    from distributed import as_completed

    submitted = {}
    try:
        for p in todo:
            options = replace(p.variant.build_options(cache_dir), out=p.variant.out.absolute())
            submitted[client.submit(render_variant, options, p, pure=False)] = p
        for future in as_completed(list(submitted), loop=client.loop):
            try:
                rendered = future.result()
            except Exception as exc:  # a worker lost, or pmr missing on a worker
                rendered = Rendered(f"dask: {type(exc).__name__}: {exc}")
            finished(submitted[future], rendered)
    except BaseException:
        client.cancel(list(submitted))
        raise
