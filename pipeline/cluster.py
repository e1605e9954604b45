"""`--executor dask` (pmr batch and pmr build): a dask.distributed client (the extra checked,
the scheduler probed, every failure one line), and one session's chunks encoded on it."""

from __future__ import annotations

import contextlib
import socket
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import DISTRIBUTION
from .chunked import ChunkWork, EncodedChunk, encode_chunk_bytes
from .errors import ClusterError, EncodeError, PmrError
from .lame import kbps
from .mp3frames import MPEG1_RATES_HZ, holds_info_frame
from .tuning import MP3_BITRATES_K

EXECUTORS = ("local", "dask")
DASK_CONNECT_S = 10
DASK_INSTALL_HINT = f"pip install '{DISTRIBUTION}[dask]', or pip install '.[dask]' in a checkout"


def least_bitrate(rate_hz: int, channels: int) -> int:
    """The lowest bitrate (kbit/s) whose frames hold a Xing/LAME frame, so chunks can join."""
    return min(k for k in MP3_BITRATES_K if holds_info_frame(k, rate_hz, channels))


def check_executor(executor: str) -> str:
    if executor not in EXECUTORS:
        raise ClusterError(f"--executor {executor!r}: valid: {', '.join(EXECUTORS)}")
    return executor


def connect_dask(scheduler: str | None) -> Any:
    if not scheduler:
        raise ClusterError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(
            "--executor dask needs dask.distributed: install pmr with the dask extra "
            f"({DASK_INSTALL_HINT})"
        ) from None
    _probe(scheduler)
    try:
        return Client(scheduler, timeout=f"{DASK_CONNECT_S}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"--scheduler {scheduler}: can't reach the dask scheduler ({exc})"
        ) from None


def total_threads(client: Any) -> int:
    """The cluster's worker threads, summed (at least 1)."""
    return max(1, sum(client.nthreads().values()))


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
        raise ClusterError(f"--scheduler {scheduler}: give an address like tcp://HOST:8786")
    try:
        socket.create_connection((host, port), timeout=DASK_CONNECT_S).close()
    except OSError as exc:
        raise ClusterError(
            f"--scheduler {scheduler}: can't reach the dask scheduler ({exc.strerror or exc})"
        ) from None


@dataclass(frozen=True)
class DaskChunks:
    """A `chunked.ChunkExecutor` on a dask cluster: the timeline and the mix (the narration's
    clips) scattered to the workers once, each chunk one task that renders and encodes it
    there and returns its MP3 as bytes (no shared filesystem), joined on the client in order.
    Tasks run in submission order as far as the cluster allows, so the join keeps up."""

    client: Any
    jobs: int  # chunks are planned as for `jobs` local processes (--jobs; else the threads)

    @contextlib.contextmanager
    def start(self, work: ChunkWork) -> Iterator[Iterator[EncodedChunk]]:
        client = self.client
        timeline, score = client.scatter([work.timeline, work.score], broadcast=True, hash=False)
        futures = [
            client.submit(encode_chunk_bytes, timeline, score, chunk, work.bitrate, work.target,
                          work.measure, work.encoder, pure=False,
                          priority=len(work.chunks) - chunk.index)
            for chunk in work.chunks
        ]  # fmt: skip
        try:
            yield (_result(future, work) for future in futures)
        finally:
            client.cancel([*futures, timeline, score])


def _result(future: Any, work: ChunkWork) -> EncodedChunk:
    try:
        return future.result()
    except PmrError:
        raise  # the chunk's own failure (its encoder's message), raised again here
    except Exception as exc:  # a worker lost, or pmr missing on a worker
        raise EncodeError(f"{work.target}: dask: {type(exc).__name__}: {exc}") from None


def cluster_chunks(
    executor: str,
    scheduler: str | None,
    jobs: int | None,
    master: Path | None,
    rate_hz: int,
    stack: contextlib.ExitStack,
    bitrate: str = "128k",
    channels: int = 2,
) -> DaskChunks | None:
    """pmr build --executor dask: the connected cluster (closed with `stack`) that encodes
    the session's chunks, planned for --jobs (default: the cluster's threads); None: local."""
    if check_executor(executor) == "local":
        return None
    if master is not None:
        raise ClusterError(
            "--executor dask: --master is written by the serial path on this machine only; "
            "leave out one of them"
        )
    if rate_hz not in MPEG1_RATES_HZ:
        raise ClusterError(
            f"--executor dask: --sample-rate {rate_hz} has no MPEG-1 frames to join chunks "
            f"at; give one of {', '.join(map(str, sorted(MPEG1_RATES_HZ)))}"
        )
    if not holds_info_frame(kbps(bitrate), rate_hz, channels):
        raise ClusterError(
            f"--executor dask: --bitrate {bitrate} frames are too small to hold the length of "
            f"a joined stream (its Xing/LAME frame); give {least_bitrate(rate_hz, channels)}k "
            "or more"
        )
    client = connect_dask(scheduler)
    stack.callback(client.close)
    return DaskChunks(client, jobs or total_threads(client))
