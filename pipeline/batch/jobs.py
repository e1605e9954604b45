"""What travels between the batch runner and its workers: jobs, results, progress events.

`render_variant` is the worker side: it builds one variant and stamps it, and returns any
failure as a value, so it travels the same from a local process or a dask worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..build import BuildOptions, build
from ..errors import PmrError
from .staleness import Assessed, stamp_path, write_stamp


@dataclass(frozen=True)
class BatchProgress:
    """Progress: ('narrating', '', lines done, lines), ('rendering', label, frames, frames),
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
