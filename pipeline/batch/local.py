"""Render jobs in worker processes on this machine.

Workers ignore SIGINT; on Ctrl-C the parent cancels what hasn't started and sends SIGTERM to the
workers, which unwind their `with` blocks (ffmpeg killed, temp file removed) and exit.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from .jobs import BatchProgress, Job, OnProgress, Rendered, render_variant

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


def run_local(
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
