"""The whole flow in one screen: expand -> narrate -> fit -> render -> encode -> publish."""

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
from .publish.tags import Prepared
from .render import render_blocks
from .sound.backgrounds import check_background, resolve
from .sound.meter import Measured, MeteredMp3Writer, can_tee, measure_file
from .sound.mix import MixScore, MixSettings, score_mix
from .sound.settings import check_bed_level, check_bitrate, check_sample_rate, resolve_loudness
from .sound.voice import load_voice_clips
from .template import Script, load_script, resolve_routine
from .tuning import BED_BELOW_VOICE_LU, MP3_BITRATE, SAMPLE_RATE_HZ

Progress = Callable[[str, int, int], None]
MAX_MINUTES = 600.0


@dataclass(frozen=True)
class BuildOptions:
    routine: str = "full"
    minutes: float = 10.0
    voice: str = "piper-joe"
    out: Path | None = None  # default: output/<routine>-<minutes>min-<voice>.mp3
    cache_dir: Path | None = None
    background: str = "pad"  # a built-in name or an audio file
    bitrate: str = MP3_BITRATE
    rate_hz: int = SAMPLE_RATE_HZ
    offline: bool = False  # never touch the network: online voices use their fallback
    strict: bool = False  # a fallback is an error (exit 2) naming the engine and the cause
    fill_missing: bool = False  # recorded packs: the fallback voice speaks unrecorded lines
    bed_level_lu: float = BED_BELOW_VOICE_LU  # the background sits this far under the voice
    loudness: str = "podcast"  # a preset (podcast, mono, sleep) or a number of LUFS
    mono: bool = False
    chimes: bool = True
    section_chimes: bool = False
    tones: bool = False
    seed: int = 0
    measure: bool = True  # check the finished MP3 with ffmpeg's ebur128 meter (while encoding)
    episode: EpisodeInfo | None = None  # series, track, title, cover, pubDate (publish.py)
    sidecars: bool = True  # transcripts, JSON chapters, manifest entry beside the MP3


@dataclass(frozen=True)
class BuildResult:
    path: Path
    script: Script
    timeline: Timeline
    clips: Clips
    size_bytes: int
    score: MixScore | None = None
    measured: Measured | None = None  # ffmpeg ebur128 on the finished MP3


def default_output(options: BuildOptions, script: Script) -> Path:
    return Path("output") / f"{script.name}-{options.minutes:g}min-{options.voice}.mp3"


def build(
    options: BuildOptions,
    on_progress: Progress | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> BuildResult:
    # Every option is checked before any narration or audio work is done.
    check_minutes(options.minutes)
    settings = mix_settings(options)
    bitrate, rate_hz = check_bitrate(options.bitrate), check_sample_rate(options.rate_hz)
    script = load_script(options.routine)
    voice = load_voice(options.voice)
    out = options.out or default_output(options, script)
    if options.out is None:
        out.parent.mkdir(parents=True, exist_ok=True)
    routine_file, bed_file = resolve_routine(options.routine), resolve(options.background).path
    check_output_path(out, inputs=tuple(p for p in (routine_file, bed_file) if p))
    if options.episode is not None and options.episode.cover is not None:
        check_cover(options.episode.cover)

    cache = ClipCache(options.cache_dir or default_cache_dir())
    clips = narrate(
        script,
        voice,
        cache,
        rate_hz,
        on_progress,
        offline=options.offline,
        strict=options.strict,
        fill_missing=options.fill_missing,
        on_notice=on_notice,
    )
    label = f"{script.name} with {voice.name}"
    timeline = fit(script, clips.frames, rate_hz, options.minutes * 60, label=label)
    score = score_mix(timeline, load_voice_clips(clips.paths, rate_hz), settings)
    episode, now = options.episode or EpisodeInfo(), now_utc()
    speakers = ", ".join(dict.fromkeys(clips.voices.values())) or voice.name
    with output_lock(out):  # the MP3 and its sidecars, together
        with prepare(script, timeline, episode, speakers, now) as pub:
            measured = _encode(out, timeline, score, bitrate, pub, options.measure, on_progress)
        if options.sidecars:
            inputs = {
                "routine": file_input(routine_file),
                "voice": {"name": voice.name, **file_input(voice.source)},
                "minutes": options.minutes,
                "background": file_input(bed_file) if bed_file else options.background,
                "loudness": options.loudness,
                "bitrate": bitrate,
                "offline": options.offline,
                "cover": "generated" if episode.cover is None else file_input(episode.cover),
            }
            write_sidecars(out, script, timeline, episode, inputs, clips, now, measured)
    return BuildResult(out, script, timeline, clips, out.stat().st_size, score, measured)


def _encode(
    out: Path,
    timeline: Timeline,
    score: MixScore,
    bitrate: str,
    pub: Prepared,
    measure: bool,
    on_progress: Progress | None,
) -> Measured | None:
    """Render the blocks straight into one ffmpeg process; the loudness it read (or None)."""
    writer = MeteredMp3Writer if measure and can_tee(out) else Mp3Writer
    with writer(
        out,
        rate_hz=timeline.rate_hz,
        channels=score.channels,
        bitrate=bitrate,
        tags={"encoder": f"pmr {__version__}"},
        metadata=pub.metadata,
        cover=pub.cover,
        finish=pub.finish,
    ) as mp3:
        for block in render_blocks(timeline, score):
            mp3.write(block)
            if on_progress:
                on_progress("rendering", mp3.frames_written, timeline.total)
    measured = getattr(mp3, "measured", None)
    if measure and measured is None:
        measured = measure_file(out)
    return measured


def mix_settings(options: BuildOptions) -> MixSettings:
    """The sound options, checked before any work is done."""
    target = resolve_loudness(options.loudness, options.mono)
    check_background(options.background, target.channels)
    return MixSettings(
        background=options.background,
        bed_level_lu=check_bed_level(options.bed_level_lu),
        target=target,
        chimes=options.chimes,
        section_chimes=options.section_chimes,
        tones=options.tones,
        seed=options.seed,
    )


def check_minutes(minutes: float) -> None:
    if not (minutes == minutes and 0 < minutes <= MAX_MINUTES):  # NaN != NaN
        raise FitError(
            f"--minutes {minutes}: give a number of minutes above 0, at most {MAX_MINUTES:g}"
        )
