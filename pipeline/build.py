"""The whole flow in one screen: expand -> narrate -> fit -> render -> encode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .encode import Mp3Writer, check_output_path, output_lock
from .errors import FitError
from .fit import Timeline, fit
from .narration import ClipCache, Clips, default_cache_dir, load_voice, narrate
from .publish import EpisodeInfo, check_cover, file_input, now_utc, prepare, write_sidecars
from .render import render_blocks
from .template import Script, load_script, resolve_routine
from .tuning import MP3_BITRATE, SAMPLE_RATE_HZ

Progress = Callable[[str, int, int], None]
MAX_MINUTES = 600.0


@dataclass(frozen=True)
class BuildOptions:
    routine: str = "full"
    minutes: float = 10.0
    voice: str = "piper-joe"
    out: Path | None = None  # default: output/<routine>-<minutes>min-<voice>.mp3
    cache_dir: Path | None = None
    background: str = "pad"
    bitrate: str = MP3_BITRATE
    rate_hz: int = SAMPLE_RATE_HZ
    offline: bool = False  # never touch the network: online voices use their fallback
    strict: bool = False  # a fallback is an error (exit 2) naming the engine and the cause
    fill_missing: bool = False  # recorded packs: the fallback voice speaks unrecorded lines
    episode: EpisodeInfo | None = None  # series, track, title, cover, pubDate (publish.py)
    sidecars: bool = True  # transcripts, JSON chapters, manifest entry beside the MP3
    measure_loudness: bool = False  # LUFS + true peak in the manifest: one more decode pass


@dataclass(frozen=True)
class BuildResult:
    path: Path
    script: Script
    timeline: Timeline
    clips: Clips
    size_bytes: int


def default_output(options: BuildOptions, script: Script) -> Path:
    return Path("output") / f"{script.name}-{options.minutes:g}min-{options.voice}.mp3"


def build(
    options: BuildOptions,
    on_progress: Progress | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> BuildResult:
    check_minutes(options.minutes)
    script = load_script(options.routine)
    voice = load_voice(options.voice)
    out = options.out or default_output(options, script)
    if options.out is None:
        out.parent.mkdir(parents=True, exist_ok=True)
    check_output_path(out, inputs=(resolve_routine(options.routine),))
    if options.episode is not None and options.episode.cover is not None:
        check_cover(options.episode.cover)  # before any narration work
    cache = ClipCache(options.cache_dir or default_cache_dir())
    clips = narrate(
        script,
        voice,
        cache,
        options.rate_hz,
        on_progress,
        offline=options.offline,
        strict=options.strict,
        fill_missing=options.fill_missing,
        on_notice=on_notice,
    )
    timeline = fit(
        script,
        clips.frames,
        options.rate_hz,
        options.minutes * 60,
        label=f"{script.name} with {voice.name}",
    )
    episode, now = options.episode or EpisodeInfo(), now_utc()
    speakers = ", ".join(dict.fromkeys(clips.voices.values())) or voice.name
    tags = {"encoder": f"pmr {__version__}"}
    with output_lock(out):  # the MP3 and its sidecars, together
        with (
            prepare(script, timeline, episode, speakers, now) as pub,
            Mp3Writer(
                out,
                rate_hz=options.rate_hz,
                bitrate=options.bitrate,
                tags=tags,
                metadata=pub.metadata,
                cover=pub.cover,
                finish=pub.finish,
            ) as mp3,
        ):
            for block in render_blocks(timeline, clips.load, options.background):
                mp3.write(block)
                if on_progress:
                    on_progress("rendering", mp3.frames_written, timeline.total)
        if options.sidecars:
            inputs = {
                "routine": file_input(resolve_routine(options.routine)),
                "voice": {"name": voice.name, **file_input(voice.source)},
                "minutes": options.minutes,
                "background": options.background,
                "bitrate": options.bitrate,
                "offline": options.offline,
                "cover": "generated" if episode.cover is None else file_input(episode.cover),
            }
            write_sidecars(
                out, script, timeline, episode, inputs, clips, now, options.measure_loudness
            )
    return BuildResult(out, script, timeline, clips, out.stat().st_size)


def check_minutes(minutes: float) -> None:
    if not (minutes == minutes and 0 < minutes <= MAX_MINUTES):  # NaN != NaN
        raise FitError(
            f"--minutes {minutes}: give a number of minutes above 0, at most {MAX_MINUTES:g}"
        )
