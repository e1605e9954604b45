"""The one error boundary: every command of the app runs inside it, so none can forget it.

A PmrError (any user mistake) becomes one `pmr: error: ...` line and exit 2, Ctrl-C exit 130,
SIGTERM exit 143; the exception unwinds first, so every `finally` and `with` cleans up.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup

from ..errors import PmrError
from .output import err


class Terminated(BaseException):
    """SIGTERM, raised where the program is so every `finally` and `with` cleans up."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """The one place a PmrError becomes a message and exit 2 (Ctrl-C 130, SIGTERM 143)."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except PmrError as exc:
        err.print(f"pmr: error: {exc}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("pmr: interrupted")
        raise typer.Exit(130) from None
    except Terminated:
        err.print("pmr: terminated")
        raise typer.Exit(143) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


class PmrGroup(TyperGroup):
    """The app's command group: invoking any (sub)command goes through `user_errors`."""

    def invoke(self, ctx: typer.Context) -> Any:
        with user_errors():
            return super().invoke(ctx)
