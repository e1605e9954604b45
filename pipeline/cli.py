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
from .render import BACKGROUNDS
from .sound.backgrounds import FILE_DESCRIPTION, check_layout, resolve
from .sound.meter import Measured
from .sound.mix import MixSettings
from .sound.preview import default_preview_path, preview
from .sound.settings import check_bed_level, check_bitrate, check_sample_rate, resolve_loudness
from .template import builtin_routines, load_script
from .tuning import BED_BELOW_VOICE_LU, MP3_BITRATE, SAMPLE_RATE_HZ

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


BackgroundOption = Annotated[
    str,
    typer.Option(
        "--background",
        "-b",
        help=f"NAME or FILE: one of {', '.join(BACKGROUNDS)} (see `pmr backgrounds`), "
        "or an audio file to loop.",
    ),
]
BedLevelOption = Annotated[
    float, typer.Option("--bed-level", help="How many LU the background sits below the voice.")
]
LoudnessOption = Annotated[
    str,
    typer.Option(
        "--loudness",
        "-l",
        help="PRESET or LUFS: podcast (-16, stereo), mono (-19), sleep (-23), or a number.",
    ),
]
MonoOption = Annotated[
    bool, typer.Option("--mono", help="One channel (the mono preset, -19 LUFS).")
]
BitrateOption = Annotated[str, typer.Option("--bitrate", help="MP3 constant bitrate, e.g. 96k.")]
SampleRateOption = Annotated[int, typer.Option("--sample-rate", help="Hz, e.g. 48000.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Noise seed: same seed, same audio.")]
MeasureOption = Annotated[
    bool,
    typer.Option("--measure/--no-measure", help="Meter the MP3 with ffmpeg ebur128 afterwards."),
]
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
    background: BackgroundOption = "pad",
    bed_level: BedLevelOption = BED_BELOW_VOICE_LU,
    chimes: Annotated[
        bool, typer.Option("--chimes/--no-chimes", help="Bells at the cues the routine places.")
    ] = True,
    section_chimes: Annotated[
        bool, typer.Option("--section-chimes", help="A small bell before each new section.")
    ] = False,
    tones: Annotated[
        bool, typer.Option("--tones", help="Soft tones after each tense and release line.")
    ] = False,
    loudness: LoudnessOption = "podcast",
    mono: MonoOption = False,
    bitrate: BitrateOption = MP3_BITRATE,
    sample_rate: SampleRateOption = SAMPLE_RATE_HZ,
    seed: SeedOption = 0,
    measure: MeasureOption = True,
    cache_dir: CacheDir = None,
) -> None:
    """Build one session MP3, fitted to exactly --minutes.

    Examples:

      pmr build full --minutes 10

      pmr build full -m 20 --out ~/Music/pmr-20.mp3

      pmr build my-routine.toml --minutes 15 --background none

      pmr build full -m 30 --background ocean --loudness sleep --no-chimes
    """
    options = BuildOptions(
        routine=routine,
        minutes=minutes,
        voice=voice,
        out=out,
        cache_dir=cache_dir,
        background=background,
        bitrate=bitrate,
        rate_hz=sample_rate,
        bed_level_lu=bed_level,
        loudness=loudness,
        mono=mono,
        chimes=chimes,
        section_chimes=section_chimes,
        tones=tones,
        seed=seed,
        measure=measure,
    )
    with user_errors(), _progress() as on_progress:
        result = build(options, on_progress)
    seconds = result.timeline.seconds
    size_mb = result.size_bytes / 1e6
    typer.echo(
        f"{result.path}  {int(seconds // 60)}:{seconds % 60:04.1f}  {size_mb:.1f} MB"
        + _loudness_note(result.measured)
    )


@app.command("backgrounds")
def backgrounds_command() -> None:
    """List the background beds, one line each."""
    for name, description in BACKGROUNDS.items():
        typer.echo(f"{name:<16} {description}")
    typer.echo(f"{'FILE':<16} {FILE_DESCRIPTION}")


@app.command("preview-background")
def preview_background_command(
    background: Annotated[
        str, typer.Argument(help="A name from `pmr backgrounds` or an audio file.")
    ],
    seconds: Annotated[float, typer.Option("--seconds", "-s", help="Length.")] = 20.0,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output MP3 [default: output/preview-NAME.mp3]."),
    ] = None,
    bed_level: BedLevelOption = BED_BELOW_VOICE_LU,
    loudness: LoudnessOption = "podcast",
    mono: MonoOption = False,
    bitrate: BitrateOption = MP3_BITRATE,
    sample_rate: SampleRateOption = SAMPLE_RATE_HZ,
    seed: SeedOption = 0,
    measure: MeasureOption = True,
) -> None:
    """Render a background alone, at the level it has in a session's pauses.

    Example: pmr preview-background ocean --seconds 20
    """
    with user_errors():
        target = resolve_loudness(loudness, mono)
        check_layout(resolve(background), target.channels)
        settings = MixSettings(
            background=background,
            bed_level_lu=check_bed_level(bed_level),
            target=target,
            seed=seed,
        )
        path = out or default_preview_path(background)
        if out is None:
            path.parent.mkdir(parents=True, exist_ok=True)
        result = preview(
            settings,
            seconds,
            path,
            check_sample_rate(sample_rate),
            check_bitrate(bitrate),
            measure,
        )
    typer.echo(f"{result.path}  {result.seconds:.1f} s" + _loudness_note(result.measured))


def _loudness_note(measured: Measured | None) -> str:
    """'  -16.0 LUFS  -1.9 dBTP': ffmpeg ebur128's reading of the finished file."""
    if measured is None:
        return ""
    return f"  {measured.lufs:.1f} LUFS  {measured.true_peak_db:.1f} dBTP"


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
