"""`pmr voices`, `pmr voices script`, `pmr narrate`, `pmr preview` and `pmr cache`."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import EncodeError, VoiceError
from ..files import forcing, has_mark, write_atomic
from ..narration import ClipCache, Clips, available_voices, default_cache_dir, load_voice, narrate
from ..narration.profiles import parse_voice
from ..narration.recorded import recording_script, script_csv, script_markdown
from ..template import load_script
from ..tuning import SAMPLE_RATE_HZ
from .options import (
    CacheDir,
    FillMissing,
    Force,
    Offline,
    RoutineArgument,
    Strict,
    Voice,
    complete_voice,
)
from .output import notice, progress

commands = typer.Typer()
voices_app = typer.Typer(
    help="List voice profiles; `pmr voices script ROUTINE` writes a recording script.",
    invoke_without_command=True,
    rich_markup_mode=None,
)
cache_app = typer.Typer(help="Inspect and prune the narration cache.", no_args_is_help=True)
commands.add_typer(voices_app, name="voices")
commands.add_typer(cache_app, name="cache")


@voices_app.callback()
def voices_command(ctx: typer.Context, cache_dir: CacheDir = None) -> None:
    """List the voice profiles: engine, language, online/offline, clips already cached."""
    if ctx.invoked_subcommand is not None:
        return
    cache = ClipCache(cache_dir or default_cache_dir())
    for name, path in sorted(available_voices().items()):
        try:
            profile = parse_voice(path)
        except VoiceError as exc:
            typer.echo(f"{name:<12} invalid: {exc}")
            continue
        where = "online" if profile.online else "offline"
        fallback = f" (falls back to {profile.fallback})" if profile.fallback else ""
        typer.echo(
            f"{name:<12} {profile.engine:<8} {profile.language:<5} {where:<7} "
            f"{cache.count(name):>4} clips cached  {profile.description}{fallback}"
        )


@voices_app.command("script")
def voices_script_command(
    routine: RoutineArgument,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", "-o", help="Folder for the .csv and .md files.")
    ] = Path("output"),
    force: Force = False,
) -> None:
    """Write the recording script of a routine (line id, text, direction) as CSV and Markdown,
    so a person can record their own voice pack.

    Example: pmr voices script full -o ~/recording
    """
    script = load_script(routine)
    if not out_dir.is_dir():
        raise EncodeError(f"--out-dir {out_dir}: the folder does not exist; create it first")
    rows = recording_script(script)
    written = []
    md = out_dir / f"{script.name}-recording-script.md"

    def ours(path: Path) -> bool:  # CSV has no comments: pmr's when its .md beside is pmr's
        return has_mark(path) or (path.suffix == ".csv" and has_mark(md))

    with forcing(force):
        for suffix, text in (("csv", script_csv(rows)), ("md", script_markdown(script, rows))):
            target = out_dir / f"{script.name}-recording-script.{suffix}"
            written.append(str(write_atomic(target, text, error=EncodeError, ours=ours)))
    typer.echo(f"{len(rows)} lines: {'  '.join(written)}")


@commands.command("narrate")
def narrate_command(
    routine: RoutineArgument = "full",
    voice: Voice = "piper-joe",
    offline: Offline = False,
    strict: Strict = False,
    fill_missing: FillMissing = False,
    cache_dir: CacheDir = None,
) -> None:
    """Synthesize every line of a routine into the cache (later builds are instant).

    Example: pmr narrate full --voice gtts-uk
    """
    with progress() as on_progress:
        script = load_script(routine)
        profile = load_voice(voice)
        cache = ClipCache(cache_dir or default_cache_dir())
        clips = narrate(
            script, profile, cache, SAMPLE_RATE_HZ, on_progress, offline=offline, strict=strict,
            fill_missing=fill_missing, on_notice=notice,
        )  # fmt: skip
    typer.echo(_summary(profile.name, clips))


def _summary(voice: str, clips: Clips) -> str:
    lines = len(clips.paths)
    by_voice: dict[str, int] = {}
    for name in clips.voices.values():
        by_voice[name] = by_voice.get(name, 0) + 1
    spoken = ", ".join(f"{name} {count}" for name, count in by_voice.items())
    speed = ""
    if clips.synthesized and clips.synthesis_s > 0:
        speed = (
            f" ({clips.speech_s:.1f} s of speech in {clips.synthesis_s:.1f} s, "
            f"{clips.speech_s / clips.synthesis_s:.1f}x realtime)"
        )
    return (
        f"{lines} lines with {voice}: {clips.synthesized} synthesized{speed}, "
        f"{lines - clips.synthesized} from cache; spoken by {spoken}"
    )


@commands.command("preview")
def preview_command(
    text: Annotated[str, typer.Argument(help="The words to speak.")],
    voice: Voice = "piper-joe",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output MP3 [default: output/preview-VOICE.mp3]."),
    ] = None,
    play: Annotated[bool, typer.Option("--play", help="Also play it (needs ffplay).")] = False,
    offline: Offline = False,
    strict: Strict = False,
    cache_dir: CacheDir = None,
) -> None:
    """Speak one line with a voice and write it as an MP3 (the clip is cached like any line).

    Example: pmr preview --voice gtts-au "Let your shoulders drop."
    """
    profile = load_voice(voice)
    cache = ClipCache(cache_dir or default_cache_dir())
    from ..narration.speak import speak_line

    spoken = speak_line(text, profile, cache, out, offline, strict, notice)
    player = shutil.which("ffplay")
    if play and player is None:
        raise EncodeError(f"--play needs ffplay on PATH; the preview is in {spoken.path}")
    typer.echo(f"{spoken.path}  {spoken.seconds:.1f} s  spoken by {spoken.voice}")
    if play and player:
        subprocess.run([player, "-nodisp", "-autoexit", "-loglevel", "error", str(spoken.path)])


@cache_app.command("info")
def cache_info_command(cache_dir: CacheDir = None) -> None:
    """Where the cache is and what it holds per voice."""
    cache = ClipCache(cache_dir or default_cache_dir())
    usage = cache.usage()
    typer.echo(f"cache: {cache.root}")
    now = time.time()
    for row in usage:
        days = (now - row.last_used_s) / 86400
        typer.echo(
            f"  {row.voice:<12} {row.clips:>5} clips  {row.size_bytes / 1e6:>7.1f} MB  "
            f"last used {days:.0f} days ago"
        )
    clips = sum(r.clips for r in usage)
    size = sum(r.size_bytes for r in usage)
    typer.echo(f"  total        {clips:>5} clips  {size / 1e6:>7.1f} MB")


@cache_app.command("prune")
def cache_prune_command(
    older_than: Annotated[
        float, typer.Option("--older-than", help="Remove clips unused for this many days.")
    ] = 60.0,
    voice: Annotated[
        str | None,
        typer.Option(
            "--voice", "-v", help="Remove every clip of this voice.", autocompletion=complete_voice
        ),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Empty the cache.")] = False,
    cache_dir: CacheDir = None,
) -> None:
    """Remove old clips, one voice's clips or everything; corrupt entries and temp files left
    by interrupted writers always go.

    Example: pmr cache prune --older-than 30
    """
    if not older_than >= 0:
        raise VoiceError(f"--older-than {older_than}: give a number of days, 0 or more")
    cache = ClipCache(cache_dir or default_cache_dir())
    result = cache.prune(older_than * 86400, voice, everything)
    typer.echo(
        f"removed {result.removed} clips ({result.corrupt} corrupt), {result.temp_files} "
        f"temp files and {result.stored} cover and bed files, "
        f"{result.freed_bytes / 1e6:.1f} MB freed from {cache.root}"
    )
