"""`pmr routines`, `pmr new` and `pmr validate`: the routine templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..template import builtin_routines, load_script
from .options import complete_routine

commands = typer.Typer()


@commands.command("routines")
def routines_command() -> None:
    """List the built-in routines."""
    for name in builtin_routines():
        script = load_script(name)
        groups = script.muscle_groups
        typer.echo(f"{name:<12} {script.language:<4} {groups:>2} groups  {script.title}")


@commands.command("new")
def new_command(
    name: Annotated[str, typer.Argument(help="Name of the new routine: writes NAME.toml.")],
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The routine to start from (built-in or .toml).",
            autocompletion=complete_routine,
        ),
    ] = "full",
    folder: Annotated[Path, typer.Option("--dir", help="Where to write NAME.toml.")] = Path("."),
) -> None:
    """Start a routine of your own as a copy of a built-in one.

    Example: pmr new my-evening --from full
    """
    from ..template import new_routine

    path = new_routine(name, source, folder)
    typer.echo(f"{path}  (edit it, then: pmr validate {path}; pmr build {path} -m 10)")


@commands.command("validate")
def validate_command(
    routine: Annotated[
        str,
        typer.Argument(
            help="A routine .toml file (or a built-in name).", autocompletion=complete_routine
        ),
    ],
) -> None:
    """Check a routine template and list every problem with its file, line and key.

    Example: pmr validate my-routine.toml
    """
    from ..template import validate

    typer.echo(validate(routine))
