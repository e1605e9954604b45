"""The `pmr` command: parses options and calls the pipeline; nothing else lives here."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from . import __version__
from .build import BuildOptions, build
from .errors import PmrError
from .narration import ClipCache, available_voices, default_cache_dir, load_voice
from .publish import DEFAULT_SERIES, EpisodeInfo
from .render import BACKGROUNDS
from .template import builtin_routines, load_script

app = typer.Typer(
    help="Build guided progressive muscle relaxation (PMR) sessions as MP3 files.\n\n"
    "Example: pmr build full --minutes 10",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """The one place a PmrError becomes a message and exit 2 (and Ctrl-C exit 130)."""
    try:
        yield
    except PmrError as exc:
        err.print(f"pmr: error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("pmr: interrupted", markup=False)
        raise typer.Exit(130) from None


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


CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", envvar="PMR_CACHE_DIR", help="Narration cache folder."),
]


@app.command("build")
def build_command(
    routine: Annotated[
        str, typer.Argument(help="A built-in routine (see `pmr routines`) or a .toml file.")
    ] = "full",
    minutes: Annotated[float, typer.Option("--minutes", "-m", help="Session length.")] = 10.0,
    voice: Annotated[str, typer.Option("--voice", "-v", help="Voice profile.")] = "piper-joe",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output MP3 [default: output/ROUTINE-Nmin-VOICE.mp3]."),
    ] = None,
    background: Annotated[
        str, typer.Option("--background", "-b", help=f"One of: {', '.join(BACKGROUNDS)}.")
    ] = "pad",
    cache_dir: CacheDir = None,
    cover: Annotated[
        Path | None,
        typer.Option("--cover", help="Square JPEG/PNG cover art [default: drawn per routine]."),
    ] = None,
    series: Annotated[
        str, typer.Option("--series", help="Album / series name in the tags and feeds.")
    ] = DEFAULT_SERIES,
) -> None:
    """Build one session MP3, fitted to exactly --minutes.

    Beside it go a transcript (.vtt, .srt), Podcasting 2.0 chapters (.chapters.json) and a
    manifest entry (.manifest.json); the MP3 carries ID3v2.3 tags, chapters and cover art.

    Examples:

      pmr build full --minutes 10

      pmr build full -m 20 --out ~/Music/pmr-20.mp3

      pmr build my-routine.toml --minutes 15 --background none
    """
    options = BuildOptions(
        routine=routine,
        minutes=minutes,
        voice=voice,
        out=out,
        cache_dir=cache_dir,
        background=background,
        episode=EpisodeInfo(series=series, cover=cover),
    )
    with user_errors(), _progress() as on_progress:
        result = build(options, on_progress)
    seconds = result.timeline.seconds
    size_mb = result.size_bytes / 1e6
    typer.echo(f"{result.path}  {int(seconds // 60)}:{seconds % 60:04.1f}  {size_mb:.1f} MB")


@app.command("routines")
def routines_command() -> None:
    """List the built-in routines."""
    with user_errors():
        for name in builtin_routines():
            script = load_script(name)
            groups = sum(
                1
                for s in script.sections
                if any(
                    line.id.endswith(".tense")
                    for line in script.lines()
                    if line.id.startswith(f"{s.id}.")
                )
            )
            typer.echo(f"{name:<12} {script.language:<4} {groups:>2} groups  {script.title}")


@app.command("voices")
def voices_command(cache_dir: CacheDir = None) -> None:
    """List the voice profiles with engine, language and clips already cached."""
    with user_errors():
        cache = ClipCache(cache_dir or default_cache_dir())
        for name in sorted(available_voices()):
            profile = load_voice(name)
            typer.echo(
                f"{name:<12} {profile.engine:<7} {profile.language:<4} offline  "
                f"{cache.count(name):>4} clips cached  {profile.description}"
            )


@contextlib.contextmanager
def _progress() -> Iterator[object]:
    """A progress bar on stderr; silent when stderr is not a terminal."""
    bar = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    with bar:
        yield update
