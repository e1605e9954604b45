"""How a batch looks to people (a live progress display, an end table) and to programs (JSON)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .. import __version__
from .jobs import BatchProgress, OnProgress
from .run import BatchReport


def table(report: BatchReport) -> str:
    """One row per variant (status, file, length, size, render time, reason) and a summary."""
    rows = [("status", "output", "length", "size", "time", "reason")]
    for o in report.outcomes:
        length = f"{int(o.seconds // 60)}:{o.seconds % 60:04.1f}" if o.seconds else ""
        size = f"{o.size_bytes / 1e6:.1f} MB" if o.size_bytes else ""
        took = f"{o.wall_s:.1f} s" if o.wall_s else ""
        rows.append((o.status, str(o.out), length, size, took, o.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)), r[5]]).rstrip()
        for r in rows
    ]
    lines.append(summary(report))
    return "\n".join(lines)


def summary(report: BatchReport) -> str:
    return (
        f"{len(report.outcomes)} variants: {report.count('built')} built, "
        f"{report.count('skipped')} skipped, {report.count('failed')} failed; "
        f"{report.unique_lines} unique lines, {report.synthesized} synthesized; "
        f"{report.wall_s:.1f} s"
    )


def as_json(report: BatchReport) -> str:
    document: dict[str, Any] = {
        "pmr": __version__,
        "wall_s": round(report.wall_s, 3),
        "counts": {s: report.count(s) for s in ("built", "skipped", "failed")},
        "unique_lines": report.unique_lines,
        "synthesized": report.synthesized,
        "notices": list(report.notices),
        "variants": [
            {
                "output": str(o.out),
                "status": o.status,
                "reason": o.reason,
                "seconds": round(o.seconds, 3),
                "size_bytes": o.size_bytes,
                "wall_s": round(o.wall_s, 3),
            }
            for o in report.outcomes
        ],
    }
    return json.dumps(document, indent=2)


@contextlib.contextmanager
def live_progress(quiet: bool = False) -> Iterator[OnProgress]:
    """An overall bar with ETA and one row per variant being rendered, on stderr;
    silent with --quiet or when stderr is not a terminal."""
    console = Console(stderr=True, highlight=False)
    bar = Progress(
        TextColumn("{task.description:<34.34}"),
        BarColumn(),
        TextColumn("{task.fields[count]:>9}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    )
    overall: dict[str, TaskID] = {}
    rows: dict[str, TaskID] = {}

    def on_event(event: BatchProgress) -> None:
        count = f"{event.done}/{event.total}"
        if event.kind == "narrating":
            if "narrating" not in overall:
                overall["narrating"] = bar.add_task("narrating", total=event.total, count="")
            bar.update(overall["narrating"], completed=event.done, count=count)
        elif event.kind == "rendering":  # done/total are frames: show a percentage
            percent = f"{100 * event.done // max(event.total, 1)}%"
            if event.label not in rows:
                rows[event.label] = bar.add_task(f"  {event.label}", total=event.total, count="")
            bar.update(rows[event.label], completed=event.done, count=percent)
        else:
            if "variants" not in overall:
                overall["variants"] = bar.add_task("variants", total=event.total, count="")
            bar.update(overall["variants"], completed=event.done, count=count)
            if event.label in rows:
                bar.remove_task(rows.pop(event.label))

    with bar:
        yield on_event
