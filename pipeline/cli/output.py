"""What the commands print besides their result: the stderr console, progress bars, notes."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from ..sound.meter import Measured


class Stderr:
    """Messages to stderr as they are, unwrapped (a log can be grepped). Rich's console, 35 ms
    to import at every start, is made only for a progress bar, which routes what is printed
    while it shows (sys.stderr then) above itself."""

    def print(self, text: str, end: str = "\n") -> None:
        print(text, end=end, file=sys.stderr, flush=True)

    def isatty(self) -> bool:
        return sys.stderr.isatty()


err = Stderr()
OnProgress = Callable[[str, int, int], None]


def notice(message: str) -> None:
    err.print(f"pmr: note: {message}")


def silent(message: str) -> None:
    """`--quiet`: notes are dropped (errors still print)."""


def notices(quiet: bool) -> Callable[[str], None]:
    return silent if quiet else notice


@contextlib.contextmanager
def progress(quiet: bool = False) -> Iterator[OnProgress]:
    """A progress bar on stderr; silent with --quiet or when stderr is not a terminal (then
    rich's progress machinery is not even imported)."""
    if quiet or not sys.stderr.isatty():
        yield _unseen
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=Console(stderr=True, highlight=False),
        transient=True,
    )
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    with bar:
        yield update


def _unseen(stage: str, done: int, total: int) -> None:
    """Progress nobody sees."""


def clock(seconds: float) -> str:
    """'10:00.0': minutes and seconds of a session."""
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def loudness_note(measured: Measured | None) -> str:
    """'  -16.0 LUFS  -1.9 dBTP': the meter's reading of the session."""
    if measured is None:
        return ""
    return f"  {measured.lufs:.1f} LUFS  {measured.true_peak_db:.1f} dBTP"
