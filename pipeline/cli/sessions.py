"""`pmr build`, `pmr plan`, `pmr preview-background` and `pmr backgrounds`: one session."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..build import (
    BuildOptions,
    build,
    check_minutes,
    mix_settings,
    session_minutes,
    session_script,
    with_routine_defaults,
)
from ..files import forcing
from ..narration import ClipCache, default_cache_dir, load_voice
from ..publish import DEFAULT_SERIES, EpisodeInfo
from ..sound.backgrounds import BACKGROUNDS, FILE_DESCRIPTION, check_background
from ..sound.preview import default_preview_path, preview
from ..sound.settings import check_bitrate, check_sample_rate
from ..tuning import BED_BELOW_VOICE_LU, MP3_BITRATE, SAMPLE_RATE_HZ
from .options import (
    Background,
    BedLevel,
    Bitrate,
    CacheDir,
    Dominant,
    Executor,
    FillMissing,
    Force,
    Gentle,
    Loudness,
    Measure,
    Mono,
    Offline,
    Pace,
    Quiet,
    Room,
    RoutineArgument,
    SampleRate,
    Scheduler,
    Seed,
    SessionMinutes,
    Skip,
    Strict,
    Voice,
    VoiceChain,
    complete_background,
)
from .output import clock, loudness_note, notices, progress

commands = typer.Typer()


@commands.command("build")
def build_command(
    routine: RoutineArgument = "full",
    minutes: SessionMinutes = None,
    voice: Voice = "piper-joe",
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Output MP3, or a folder for it [default: output/ROUTINE-Nmin-VOICE.mp3].",
        ),
    ] = None,
    force: Force = False,
    background: Background = "",
    bed_level: BedLevel = BED_BELOW_VOICE_LU,
    chimes: Annotated[
        bool, typer.Option("--chimes/--no-chimes", help="Bells at the cues the routine places.")
    ] = True,
    section_chimes: Annotated[
        bool, typer.Option("--section-chimes", help="A small bell before each new section.")
    ] = False,
    tones: Annotated[
        bool, typer.Option("--tones", help="Soft tones after each tense and release line.")
    ] = False,
    loudness: Loudness = "",
    mono: Mono = False,
    bitrate: Bitrate = MP3_BITRATE,
    sample_rate: SampleRate = SAMPLE_RATE_HZ,
    seed: Seed = 0,
    measure: Measure = True,
    pace: Pace = None,
    room: Room = "none",
    voice_chain: VoiceChain = True,
    skip: Skip = None,
    gentle: Gentle = None,
    dominant: Dominant = "left",
    cache_dir: CacheDir = None,
    offline: Offline = False,
    strict: Strict = False,
    fill_missing: FillMissing = False,
    cover: Annotated[
        Path | None,
        typer.Option("--cover", help="Square JPEG/PNG cover art [default: drawn per routine]."),
    ] = None,
    series: Annotated[
        str, typer.Option("--series", help="Album / series name in the tags and feeds.")
    ] = DEFAULT_SERIES,
    master: Annotated[
        Path | None,
        typer.Option(
            "--master",
            help="Also write the mixed PCM losslessly: FILE.wav (32-bit float) or FILE.flac.",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Chunks rendered and encoded at once [default: the cores from 5 min on, "
            "else 1: the serial path, which builds with --master also take; with --executor "
            "dask, the cluster's threads].",
        ),
    ] = None,
    executor: Executor = "local",
    scheduler: Scheduler = None,
    quiet: Quiet = False,
) -> None:
    """Build one session MP3, fitted to exactly --minutes (or the routine's own length).

    Beside it go a transcript (.vtt, .srt), Podcasting 2.0 chapters (.chapters.json) and a
    manifest entry (.manifest.json); the MP3 carries ID3v2.3 tags, chapters and cover art.

    Examples:

      pmr build full --minutes 10

      pmr build full -m 20 --out ~/Music/pmr-20.mp3

      pmr build my-routine.toml --minutes 15 --background none

      pmr build my-script.txt             # a script from another tool, at its natural length

      pmr build full -m 30 --background ocean --loudness sleep --no-chimes

      pmr build seven -m 15 --skip right-arm --gentle neck --dominant right

      pmr build sleep -m 120 --executor dask --scheduler tcp://10.0.0.5:8786
    """
    options = BuildOptions(
        routine=routine, minutes=minutes, voice=voice, out=out, cache_dir=cache_dir,
        background=background, offline=offline, strict=strict, fill_missing=fill_missing,
        episode=EpisodeInfo(series=series, cover=cover), bitrate=bitrate, rate_hz=sample_rate,
        bed_level_lu=bed_level, loudness=loudness, mono=mono, chimes=chimes,
        section_chimes=section_chimes, tones=tones, seed=seed, measure=measure, force=force,
        pace=pace, room=room, voice_chain=voice_chain,
        skip=tuple(skip or ()), gentle=tuple(gentle or ()), dominant=dominant, master=master,
        jobs=jobs, executor=executor, scheduler=scheduler,
    )  # fmt: skip
    with progress(quiet) as on_progress:
        result = build(options, on_progress, notices(quiet))
    size_mb = result.size_bytes / 1e6
    typer.echo(
        f"{result.path}  {clock(result.timeline.seconds)}  {size_mb:.1f} MB"
        + loudness_note(result.measured)
    )


@commands.command("plan")
def plan_command(
    routine: RoutineArgument = "full",
    minutes: SessionMinutes = None,
    voice: Voice = "piper-joe",
    png: Annotated[
        Path | None, typer.Option("--png", help="Also draw the timeline into this PNG file.")
    ] = None,
    force: Force = False,
    background: Background = "",
    skip: Skip = None,
    gentle: Gentle = None,
    dominant: Dominant = "left",
    cache_dir: CacheDir = None,
) -> None:
    """Print the cue sheet of a session (start, section, line, pauses) without building audio.

    Clip lengths come from the narration cache, or are estimated from the text.

    Example: pmr plan full --minutes 20 --png full-20.png
    """
    from ..plan import cue_sheet, draw_png, make_plan

    if minutes is not None:
        check_minutes(minutes)
    options = BuildOptions(
        routine=routine, background=background, skip=tuple(skip or ()),
        gentle=tuple(gentle or ()), dominant=dominant,
    )  # fmt: skip
    profile = load_voice(voice)
    script = session_script(options, profile.language)  # a text script: the voice's language
    background = with_routine_defaults(options, script).background
    check_background(background)
    cache = ClipCache(cache_dir or default_cache_dir())
    length = session_minutes(minutes, script)
    plan = make_plan(script, profile, cache, SAMPLE_RATE_HZ, length)
    typer.echo(cue_sheet(plan))
    if png is not None:
        with forcing(force):
            typer.echo(f"{draw_png(plan, png, background)}  (timeline picture)")


@commands.command("preview-background")
def preview_background_command(
    background: Annotated[
        str,
        typer.Argument(
            help="A name from `pmr backgrounds` or an audio file.",
            autocompletion=complete_background,
        ),
    ],
    seconds: Annotated[float, typer.Option("--seconds", "-s", help="Length.")] = 20.0,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output MP3 [default: output/preview-NAME.mp3]."),
    ] = None,
    bed_level: BedLevel = BED_BELOW_VOICE_LU,
    loudness: Loudness = "podcast",
    mono: Mono = False,
    bitrate: Bitrate = MP3_BITRATE,
    sample_rate: SampleRate = SAMPLE_RATE_HZ,
    seed: Seed = 0,
    measure: Measure = True,
) -> None:
    """Render a background alone, at the level it has in a session's pauses.

    Example: pmr preview-background ocean --seconds 20
    """
    sound = BuildOptions(
        background=background, bed_level_lu=bed_level, loudness=loudness, mono=mono, seed=seed
    )
    settings = mix_settings(sound)
    path = out or default_preview_path(background)
    if out is None:
        path.parent.mkdir(parents=True, exist_ok=True)
    rate_hz, bitrate = check_sample_rate(sample_rate), check_bitrate(bitrate)
    result = preview(settings, seconds, path, rate_hz, bitrate, measure)
    typer.echo(f"{result.path}  {result.seconds:.1f} s" + loudness_note(result.measured))


@commands.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="An MP3 (or any audio file ffmpeg reads).")],
    preset: Annotated[
        str, typer.Option("--preset", help="Loudness tolerance: podcast, mono or sleep.")
    ] = "podcast",
    transcript: Annotated[
        Path | None, typer.Option("--transcript", help="WebVTT transcript [default: FILE.vtt].")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Figures as JSON on stdout.")] = False,
) -> None:
    """Measure a finished MP3 with meters independent of the build; exit 1 if a figure is out
    of tolerance.

    Duration, loudness and true peak (ffmpeg ebur128), clipping, the longest voice-free
    stretch and the mono fold-down of the quiet parts; with the transcript beside it, the
    speech rate, the sentence gaps and the hold/relax gaps between voiced frames.

    Examples:

      pmr check output/full-10min-piper-joe.mp3

      pmr check night.mp3 --preset sleep --json
    """
    import json

    from ..check import check_file

    report = check_file(file, preset, transcript)
    typer.echo(json.dumps(report.as_dict(), indent=2) if as_json else report.table())
    if not report.ok:
        raise typer.Exit(1)


@commands.command("backgrounds")
def backgrounds_command() -> None:
    """List the background beds, one line each."""
    for name, description in BACKGROUNDS.items():
        typer.echo(f"{name:<16} {description}")
    typer.echo(f"{'FILE':<16} {FILE_DESCRIPTION}")
