"""The `pmr` command: parses options and calls the pipeline; nothing else lives here."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from . import __version__
from .build import BuildOptions, build
from .errors import PmrError
from .narration import ClipCache, default_cache_dir, load_voice
from .publish import DEFAULT_SERIES, EpisodeInfo
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
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except PmrError as exc:
        err.print(f"pmr: error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("pmr: interrupted", markup=False)
        raise typer.Exit(130) from None
    except Terminated:
        err.print("pmr: terminated", markup=False)
        raise typer.Exit(143) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


class Terminated(BaseException):
    """SIGTERM, raised where the program is so every `finally` and `with` cleans up."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


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
        str,
        typer.Argument(
            help="A built-in routine (see `pmr routines`), a .toml file, or a text script "
            "(.txt, .md, .ssml: see `pmr import`)."
        ),
    ] = "full",
    minutes: Annotated[
        float | None,
        typer.Option(
            "--minutes",
            "-m",
            help="Session length [default: the routine's own: [routine] minutes, the natural "
            "length when every pause is fixed (imported scripts), else 10].",
            show_default=False,
        ),
    ] = None,
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
    offline: Annotated[
        bool, typer.Option("--offline", help="Never use the network; online voices fall back.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 2) instead of using a fallback voice.")
    ] = False,
    fill_missing: Annotated[
        bool,
        typer.Option("--fill-missing", help="Recorded voices: fallback speaks unrecorded lines."),
    ] = False,
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

      pmr build full -m 30 --background ocean --loudness sleep --no-chimes
    """
    options = BuildOptions(
        routine=routine,
        minutes=minutes,
        voice=voice,
        out=out,
        cache_dir=cache_dir,
        background=background,
        offline=offline,
        strict=strict,
        fill_missing=fill_missing,
        episode=EpisodeInfo(series=series, cover=cover),
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
        result = build(options, on_progress, _notice)
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


@app.command("feed")
def feed_command(
    output_dir: Annotated[Path, typer.Argument(help="The folder your sessions were built in.")],
    title: Annotated[str, typer.Option("--title", help="Podcast title.")],
    author: Annotated[str, typer.Option("--author", help="Podcast author (itunes:author).")],
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where OUTPUT_DIR is served, e.g. https://x.org/pmr/")
    ],
    image: Annotated[
        Path | None, typer.Option("--image", help="Square JPEG/PNG art [default: drawn].")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="Show notes.")] = "",
    email: Annotated[
        str | None, typer.Option("--email", help="Owner e-mail (itunes:owner).")
    ] = None,
) -> None:
    """Write OUTPUT_DIR/feed.xml: a podcast feed (RSS 2.0, itunes and podcast namespaces) of
    every session built there, with cover art and an .m3u8 playlist per series.

    Example:

      pmr feed output --title "Evening PMR" --author "Sam" --base-url https://example.org/pmr/
    """
    from .feed import FeedOptions, write_feed

    options = FeedOptions(
        title=title,
        author=author,
        base_url=base_url,
        image=image,
        description=description,
        email=email,
    )
    with user_errors():
        path = write_feed(output_dir, options)
    typer.echo(f"{path}  {options.base_url.rstrip('/')}/{path.name}")


@app.command("program")
def program_command(
    weeks: Annotated[int, typer.Option("--weeks", "-w", help="Length of the program.")] = 4,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the series.")] = Path(
        "output/program"
    ),
    start: Annotated[
        str | None, typer.Option("--start", help="First day, YYYY-MM-DD [default: today].")
    ] = None,
    title: Annotated[
        str, typer.Option("--title", help="Series title.")
    ] = "Progressive muscle relaxation: a practice program",
    author: Annotated[str, typer.Option("--author", help="Author shown in apps.")] = "pmr",
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where --out will be served.")
    ] = "http://127.0.0.1:8000/",
    voice: Annotated[str, typer.Option("--voice", "-v", help="Voice profile.")] = "piper-joe",
    background: Annotated[str, typer.Option("--background", "-b", help="pad or none.")] = "pad",
    routine: Annotated[
        str | None, typer.Option("--routine", help="Use this routine for every week instead.")
    ] = None,
    minutes: Annotated[
        float | None, typer.Option("--minutes", "-m", help="Use this length for every week.")
    ] = None,
    cover: Annotated[
        Path | None, typer.Option("--cover", help="Square JPEG/PNG art [default: drawn].")
    ] = None,
    cache_dir: CacheDir = None,
) -> None:
    """Build a practice program as a podcast series: one episode a week, following the advice
    to practise twice a day at first, then daily, then three or four times a week.

    Week 1 learns the muscle groups, then the full routine, then shorter sessions; pubDates
    follow the schedule. Writes the MP3s, sidecars, feed.xml and an .m3u8 playlist to --out.

    Example:

      pmr program --weeks 4 --out output/program --base-url http://192.168.1.20:8000/
    """
    from .program import ProgramOptions, build_program

    with user_errors():
        first = _parse_date(start) if start else None
        options = ProgramOptions(
            weeks=weeks, out=out, start=first, title=title, author=author, base_url=base_url,
            voice=voice, background=background, routine=routine, minutes=minutes, cover=cover,
            cache_dir=cache_dir,
        )  # fmt: skip
        with _progress() as on_progress:
            results, feed = build_program(options, on_progress)
    for result in results:
        seconds = result.timeline.seconds
        typer.echo(f"{result.path}  {int(seconds // 60)}:{seconds % 60:04.1f}")
    typer.echo(f"{feed}")


def _parse_date(text: str) -> date:
    from .errors import PublishError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PublishError(f"--start {text!r}: give a date as YYYY-MM-DD") from None


@app.command("export")
def export_command(
    dest: Annotated[Path, typer.Argument(help="Where to copy to: a phone's or card's folder.")],
    source: Annotated[
        Path, typer.Option("--from", help="The folder the series was built in.")
    ] = Path("output/program"),
    series: Annotated[
        str | None, typer.Option("--series", help="Only this series [default: all].")
    ] = None,
) -> None:
    """Copy a series (MP3s with tags, chapters and art) and its .m3u8 playlist to DEST/SERIES/,
    with phone-safe file names; files already there unchanged are skipped.

    Example:

      pmr export /media/phone/Music --from output/program
    """
    from .export import export

    with user_errors():
        done = export(source, dest, series)
    for item in done:
        typer.echo(
            f"{item.folder}  {len(item.copied)} copied, {len(item.unchanged)} unchanged, "
            f"playlist {item.playlist.name}"
        )


@app.command("index")
def index_command(
    output_dir: Annotated[Path, typer.Argument(help="The folder your sessions were built in.")],
    title: Annotated[
        str | None, typer.Option("--title", help="Page title [default: the feed's].")
    ] = None,
) -> None:
    """Write OUTPUT_DIR/index.html: a player per session with its length, chapters, transcript,
    and links to the feed and playlists. Open it from the disk or through `pmr serve`.
    """
    from .index_page import write_index

    with user_errors():
        path = write_index(output_dir, title)
    typer.echo(str(path))


@app.command("serve")
def serve_command(
    output_dir: Annotated[Path, typer.Argument(help="The folder to serve.")],
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for your network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port.")] = 8000,
) -> None:
    """Serve OUTPUT_DIR over HTTP (with byte ranges, as podcast apps need) until Ctrl-C.

    For a phone on the same Wi-Fi: build the feed with --base-url http://<this machine's
    address>:8000/ and run `pmr serve OUTPUT_DIR --host 0.0.0.0`.
    """
    from .serve import make_server

    with user_errors():
        server = make_server(output_dir, host, port)
    bound_host, bound_port = server.server_address[:2]
    err.print(f"serving {output_dir} at http://{bound_host}:{bound_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        err.print("pmr: stopped", markup=False)
    finally:
        server.server_close()


@app.command("validate")
def validate_command(
    routine: Annotated[str, typer.Argument(help="A routine .toml file (or a built-in name).")],
) -> None:
    """Check a routine template and list every problem with its file, line and key.

    Example: pmr validate my-routine.toml
    """
    from .validate import validate

    with user_errors():
        typer.echo(validate(routine))


@app.command("new")
def new_command(
    name: Annotated[str, typer.Argument(help="Name of the new routine: writes NAME.toml.")],
    source: Annotated[
        str, typer.Option("--from", help="The routine to start from (built-in or .toml).")
    ] = "full",
    folder: Annotated[Path, typer.Option("--dir", help="Where to write NAME.toml.")] = Path("."),
) -> None:
    """Start a routine of your own as a copy of a built-in one.

    Example: pmr new my-evening --from full
    """
    from .validate import new_routine

    with user_errors():
        path = new_routine(name, source, folder)
    typer.echo(f"{path}  (edit it, then: pmr validate {path}; pmr build {path} -m 10)")


@app.command("plan")
def plan_command(
    routine: Annotated[
        str,
        typer.Argument(
            help="A built-in routine (see `pmr routines`), a .toml file, or a text script "
            "(.txt, .md, .ssml: see `pmr import`)."
        ),
    ] = "full",
    minutes: Annotated[float, typer.Option("--minutes", "-m", help="Session length.")] = 10.0,
    voice: Annotated[str, typer.Option("--voice", "-v", help="Voice profile.")] = "piper-joe",
    png: Annotated[
        Path | None, typer.Option("--png", help="Also draw the timeline into this PNG file.")
    ] = None,
    background: Annotated[
        str, typer.Option("--background", "-b", help=f"One of: {', '.join(BACKGROUNDS)}.")
    ] = "pad",
    cache_dir: CacheDir = None,
) -> None:
    """Print the cue sheet of a session (start, section, line, pauses) without building audio.

    Clip lengths come from the narration cache, or are estimated from the text.

    Example: pmr plan full --minutes 20 --png full-20.png
    """
    from .build import check_minutes
    from .plan import cue_sheet, draw_png, make_plan
    from .tuning import SAMPLE_RATE_HZ

    with user_errors():
        check_minutes(minutes)
        if background not in BACKGROUNDS:
            raise PmrError(f"unknown background {background!r}; valid: {', '.join(BACKGROUNDS)}")
        cache = ClipCache(cache_dir or default_cache_dir())
        plan = make_plan(load_script(routine), load_voice(voice), cache, SAMPLE_RATE_HZ, minutes)
        typer.echo(cue_sheet(plan))
        if png is not None:
            typer.echo(f"{draw_png(plan, png, background)}  (timeline picture)")


def _notice(message: str) -> None:
    err.print(f"pmr: note: {message}", markup=False, soft_wrap=True)


# voices, voices script, narrate, preview, cache: registered on `app` when imported.
from . import cli_narration, cli_scripts  # noqa: E402, F401


@app.command("batch")
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
    executor: Annotated[
        str, typer.Option("--executor", help="local (processes) or dask (a cluster).")
    ] = "local",
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="dask scheduler address (tcp://HOST:8786).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even up-to-date outputs.")
    ] = False,
    json_report: Annotated[
        bool, typer.Option("--json", help="Print a JSON report instead of the table.")
    ] = False,
    cache_dir: CacheDir = None,
) -> None:
    """Build many variants: the product of routines x minutes x voices x backgrounds.

    Each unique line is synthesized once, unchanged outputs are skipped, the rest render in
    parallel. Exit 1 if any variant failed (the table says why).

    Examples:

      pmr batch variants.toml -j 2

      pmr batch --routines full --minutes 10,15,20 --backgrounds pad,none

      pmr batch variants.toml --executor dask --scheduler tcp://10.0.0.5:8786
    """
    from .batch import expand, load_matrix, plan, run_batch, with_lists
    from .batch.report import as_json, live_progress, table
    from .batch.series import series_due, update_series

    with user_errors():
        base = load_matrix(matrix) if matrix is not None else None
        lists = {"routines": routines, "minutes": minutes, "voices": voices}
        grid = with_lists(base, **lists, backgrounds=backgrounds, out_dir=out_dir, name=name)
        planned = plan(expand(grid), force=force)
        with live_progress(err) as on_event:
            report = run_batch(
                planned,
                cache_dir=cache_dir or default_cache_dir(),
                jobs=jobs,
                executor=executor,
                scheduler=scheduler,
                on_event=on_event,
                on_notice=_notice,
            )
    typer.echo(as_json(report) if json_report else table(report))
    if grid.series and series_due(grid.out_dir, report.count("built")):
        with user_errors():
            written = update_series(grid.series, grid.out_dir)
        _notice(f"series updated: {', '.join(str(p) for p in written)}")
    if report.count("failed"):
        raise typer.Exit(1)
