"""Render jobs on a dask.distributed cluster whose workers share the cache and output folders."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import BatchError
from .jobs import Job, Rendered, render_variant

DASK_CONNECT_S = 10


def connect_dask(scheduler: str | None):
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
