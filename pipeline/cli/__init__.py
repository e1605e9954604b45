"""The `pmr` command: one Typer app, one error boundary (boundary.py), one module per command
group. Commands only parse options and call the library; `PmrGroup` turns every user mistake
into `pmr: error: ...` and exit 2, so no command handles errors itself."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import batch, narration, publishing, routines, sessions
from .boundary import PmrGroup

app = typer.Typer(
    cls=PmrGroup,
    help="Build guided progressive muscle relaxation (PMR) sessions as MP3 files.\n\n"
    "Example: pmr build full --minutes 10",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
for group in (sessions, routines, narration, publishing, batch):  # the order `pmr -h` lists
    app.add_typer(group.commands)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pmr {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Build guided progressive muscle relaxation (PMR) sessions as MP3 files."""


__all__ = ["app"]
