"""Render jobs on a dask.distributed cluster whose workers share the cache and output folders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .jobs import Job, Rendered, render_variant


def run_dask(
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
