"""`pmr batch`: many variants of a matrix, built in parallel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..narration import default_cache_dir
from ..tuning import MAX_BATCH_VARIANTS
from .options import CacheDir, Executor, Quiet, Scheduler
from .output import notices

commands = typer.Typer()


@commands.command("batch")
def batch_command(
    matrix: Annotated[
        Path | None, typer.Argument(help="A matrix file (TOML); the lists below override it.")
    ] = None,
    routines: Annotated[
        str | None, typer.Option("--routines", help="Comma-separated routines or .toml files.")
    ] = None,
    minutes: Annotated[
        str | None, typer.Option("--minutes", "-m", help="Comma-separated lengths, e.g. 5,10,20.")
    ] = None,
    voices: Annotated[str | None, typer.Option("--voices", help="Comma-separated voices.")] = None,
    backgrounds: Annotated[
        str | None, typer.Option("--backgrounds", help="Comma-separated backgrounds.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", "-o", help="Output folder [default: output].")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="File name pattern, e.g. '{routine}-{minutes}min.mp3'."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Variants rendered at once [default: cores]."),
    ] = None,
    executor: Executor = "local",
    scheduler: Scheduler = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Rebuild even up-to-date outputs; replace files pmr did not write."
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help=f"Build more than {MAX_BATCH_VARIANTS} variants."),
    ] = False,
    json_report: Annotated[
        bool, typer.Option("--json", help="Print a JSON report instead of the table.")
    ] = False,
    cache_dir: CacheDir = None,
    quiet: Quiet = False,
) -> None:
    """Build many variants: the product of routines x minutes x voices x backgrounds.

    Each unique line is synthesized once, unchanged outputs are skipped, the rest render in
    parallel. Exit 1 if any variant failed (the table says why).

    Examples:

      pmr batch variants.toml -j 2

      pmr batch --routines full --minutes 10,15,20 --backgrounds pad,none

      pmr batch variants.toml --executor dask --scheduler tcp://10.0.0.5:8786
    """
    from ..batch import assess, expand, load_matrix, run_batch, with_lists
    from ..batch.matrix import check_size
    from ..batch.report import as_json, live_progress, table
    from ..batch.series import series_due, update_series

    base = load_matrix(matrix) if matrix is not None else None
    lists = {"routines": routines, "minutes": minutes, "voices": voices}
    grid = with_lists(base, **lists, backgrounds=backgrounds, out_dir=out_dir, name=name)
    check_size(grid, yes)
    assessed = assess(expand(grid), force=force)
    with live_progress(quiet) as on_event:
        report = run_batch(
            assessed,
            cache_dir=cache_dir or default_cache_dir(),
            jobs=jobs,
            executor=executor,
            scheduler=scheduler,
            on_event=on_event,
            on_notice=notices(quiet),
            force=force,
        )
    typer.echo(as_json(report) if json_report else table(report))
    if grid.series and series_due(grid.out_dir, report.count("built")):
        written = update_series(grid.series, grid.out_dir)
        notices(quiet)(f"series updated: {', '.join(str(p) for p in written)}")
    if report.count("failed"):
        raise typer.Exit(1)
