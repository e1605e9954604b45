"""The whole flow in one screen: expand -> narrate -> fit -> render -> encode -> publish."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .chunked import ChunkExecutor, Forked, encode_session, plan_chunks
from .cluster import cluster_chunks
from .delivery import Delivery, Phrasing, resolve_pace
from .encode import (
    MasterWriter,
    Mp3Writer,
    check_output_path,
    find_ffmpeg_early,
    master_path,
    output_lock,
    output_path,
)
from .errors import FitError, VoiceError
from .files import forcing
from .fit import Timeline, all_fixed, fit, natural_seconds
from .lame import kbps
from .mp3frames import MPEG1_RATES_HZ, holds_info_frame
from .narration import ClipCache, Clips, VoiceProfile, default_cache_dir, load_voice, narrate
from .publish import (
    EpisodeInfo,
    check_cover,
    file_input,
    now_utc,
    prepare,
    sidecar_owners,
    write_sidecars,
)
from .publish.tags import Prepared
from .render import render_blocks
from .sound.backgrounds import check_background, keep_loops_in, resolve
from .sound.bedcache import cached_bed_energies
from .sound.meter import Measured, StepMeter, session_measured
from .sound.mix import MixScore, MixSettings, score_mix
from .sound.settings import check_bed_level, check_bitrate, check_sample_rate, resolve_loudness
from .sound.voice import load_voice_clips
from .sound.voicechain import SYNTHETIC_ENGINES, chain_for
from .template import Script, load_script, resolve_routine
from .template.body import Body, adapt
from .tighten import check_reach, tighter
from .tuning import BED_BELOW_VOICE_LU, CHANNELS, MP3_BITRATE, SAMPLE_RATE_HZ

Progress = Callable[[str, int, int], None]
MAX_MINUTES = 600.0
# What a build uses when neither the command line nor the routine's `[routine]` table says.
DEFAULT_BACKGROUND = "pad"
DEFAULT_LOUDNESS = "podcast"
DEFAULT_MINUTES = 10.0  # a build without --minutes of a routine that sets no length
AUTO_CHUNKED_S = 300.0  # without --jobs, sessions this long are encoded in chunks on every core


@dataclass(frozen=True)
class BuildOptions:
    routine: str = "full"
    minutes: float | None = None  # None: the routine's own length (see `session_seconds`)
    voice: str = "piper-joe"
    out: Path | str | None = None  # default: output/<routine>-<minutes>min-<voice>.mp3; a
    # folder (or a path ending in '/') gets that name inside
    force: bool = False  # replace any regular file at the outputs, not only pmr's own
    cache_dir: Path | None = None
    background: str = ""  # a built-in name or an audio file; "": the routine's own, else pad
    bitrate: str = MP3_BITRATE
    rate_hz: int = SAMPLE_RATE_HZ
    offline: bool = False  # never touch the network: online voices use their fallback
    strict: bool = False  # a fallback is an error (exit 2) naming the engine and the cause
    fill_missing: bool = False  # recorded packs: the fallback voice speaks unrecorded lines
    bed_level_lu: float = BED_BELOW_VOICE_LU  # the background sits this far under the voice
    loudness: str = ""  # a preset (podcast, mono, sleep) or LUFS; "": the routine's, else podcast
    mono: bool = False
    chimes: bool = True
    section_chimes: bool = False
    tones: bool = False
    seed: int = 0
    pace: str | None = None  # a mood or a number: replaces the routine's pace (delivery.py)
    room: str = "none"  # early reflections on synthetic voices (sound/voicechain.py ROOMS)
    voice_chain: bool = True  # high-pass, de-essing and soft EQ on synthetic voices
    measure: bool = True  # meter the loudness as it renders, and the MP3's true peak
    episode: EpisodeInfo | None = None  # series, track, title, cover, pubDate (publish.py)
    sidecars: bool = True  # transcripts, JSON chapters, manifest entry beside the MP3
    skip: tuple[str, ...] = ()  # muscle groups left out to rest (template/body.py)
    gentle: tuple[str, ...] = ()  # groups tensed at about half strength, or ("all",)
    dominant: str = "left"  # this side comes first in each pair of groups
    master: Path | None = None  # also write the mixed PCM here (.wav float or .flac 24-bit)
    jobs: int | None = 1  # chunks encoded at once (chunked.py); None: the cores; 1: serial
    executor: str = "local"  # or "dask": the chunks on a cluster (then jobs None: its threads)
    scheduler: str | None = None  # the dask scheduler's address (tcp://HOST:8786)

    @property
    def body(self) -> Body:
        return Body(tuple(self.skip), tuple(self.gentle), self.dominant)


@dataclass(frozen=True)
class BuildResult:
    path: Path
    script: Script
    timeline: Timeline
    clips: Clips
    size_bytes: int
    score: MixScore | None = None
    measured: Measured | None = None  # its loudness and true peak (sound/meter.py)


def session_minutes(minutes: float | None, script: Script) -> float | str:
    """--minutes when given; else the routine's `[routine] minutes` (a number or "natural");
    else "natural" when every pause is fixed (it can make no other length), else 10."""
    if minutes is not None:
        return minutes
    if script.minutes is not None:
        return script.minutes
    return "natural" if all_fixed(script) else DEFAULT_MINUTES


def default_output(options: BuildOptions, script: Script) -> Path:
    minutes = session_minutes(options.minutes, script)
    length = "natural" if minutes == "natural" else f"{minutes:g}min"
    return Path("output") / f"{script.name}-{length}-{options.voice}.mp3"


def session_seconds(
    options: BuildOptions, script: Script, clip_frames: Mapping[str, int], rate_hz: int
) -> float:
    """The length to fit, in seconds: the natural length is exact once the clips are known."""
    minutes = session_minutes(options.minutes, script)
    if minutes == "natural":
        return natural_seconds(script, clip_frames, rate_hz)
    return float(minutes) * 60


def build(
    options: BuildOptions,
    on_progress: Progress | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build one session (see `_build`); --force holds for every file it writes."""
    with forcing(options.force), contextlib.ExitStack() as stack:
        return _build(options, stack, on_progress, on_notice)


def _build(
    options: BuildOptions,
    stack: contextlib.ExitStack,
    on_progress: Progress | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> BuildResult:
    # Every option is checked before any narration or audio work is done.
    if options.minutes is not None:
        check_minutes(options.minutes)
    voice = load_voice(options.voice)
    script = session_script(options, voice.language)
    options = with_routine_defaults(options, script)
    settings = mix_settings(options)
    chain_for(options.room)
    narration_pace(options.pace)
    bitrate, rate_hz = check_bitrate(options.bitrate), check_sample_rate(options.rate_hz)
    out = output_path(options.out, default_output(options, script))
    routine_file, bed_file = resolve_routine(options.routine), resolve(options.background).path
    inputs = tuple(p for p in (routine_file, bed_file) if p)
    check_output_path(out, inputs, sidecar_owners(out) if options.sidecars else None)
    master = None if options.master is None else master_path(options.master)
    if master is not None:
        check_output_path(master, (*inputs, out))
    if options.episode is not None and options.episode.cover is not None:
        check_cover(options.episode.cover)
    remote = cluster_chunks(  # a cluster is reached (or not) before any narration
        options.executor,
        options.scheduler,
        options.jobs,
        master,
        rate_hz,
        stack,
        bitrate,
        1 if options.mono else CHANNELS,
    )
    find_ffmpeg_early()

    clips = narrate_at_pace(options, script, voice, rate_hz, on_progress, on_notice)
    label = f"{script.name} with {voice.name}"
    seconds = session_seconds(options, script, clips.frames, rate_hz)
    timeline = fit(script, clips.frames, rate_hz, seconds, label=label)
    chain = chain_for(options.room, dry=not options.voice_chain)
    chains = {i: chain for i, engine in clips.engines.items() if engine in SYNTHETIC_ENGINES}
    cache_dir = options.cache_dir or default_cache_dir()  # clips, bed figures, drawn covers
    voiced = load_voice_clips(clips.paths, rate_hz, chains)
    keep_loops_in(cache_dir / "beds")  # the noise beds' 95 s loops, made once
    score = score_mix(timeline, voiced, settings, cached_bed_energies(cache_dir))
    episode, now = described(options.episode or EpisodeInfo(), script, options.body), now_utc()
    speakers = ", ".join(dict.fromkeys(clips.voices.values())) or voice.name
    with output_lock(out):  # the MP3 and its sidecars, together
        publishing = functools.partial(prepare, script, timeline, episode, speakers, now, cache_dir)
        jobs = chunk_jobs(options.jobs, timeline, master, bitrate, score.channels)
        chunks = remote or (Forked(jobs) if jobs > 1 else None)
        measured = _encode(
            out, timeline, score, bitrate, publishing, options.measure, on_progress, master, chunks
        )
        if options.sidecars:
            inputs = {
                "routine": file_input(routine_file),
                "voice": {"name": voice.name, **file_input(voice.source)},
                "minutes": session_minutes(options.minutes, script),
                "background": file_input(bed_file) if bed_file else options.background,
                "loudness": options.loudness,
                "bitrate": bitrate,
                "offline": options.offline,
                "skip": list(options.skip),
                "gentle": list(options.gentle),
                "dominant": options.dominant,
                "cover": "generated" if episode.cover is None else file_input(episode.cover),
            }
            write_sidecars(out, script, timeline, episode, inputs, clips, now, measured)
    return BuildResult(out, script, timeline, clips, out.stat().st_size, score, measured)


def _encode(
    out: Path,
    timeline: Timeline,
    score: MixScore,
    bitrate: str,
    publishing: Callable[[], contextlib.AbstractContextManager[Prepared]],
    measure: bool,
    on_progress: Progress | None,
    master: Path | None = None,
    chunks: ChunkExecutor | None = None,
) -> Measured | None:
    """Render the blocks straight into one ffmpeg process (and the same blocks into the
    lossless master, if asked), or in chunks on `chunks`; the loudness metered as the blocks
    were rendered and the MP3's true peak (sound/meter.py), or None when not asked to measure.
    `publishing` gives the tags, chapters and cover (publish/tags.py `prepare`)."""
    if chunks is not None:

        def tag_header(folder: Path) -> bytes:
            with publishing() as pub:
                return _mp3_writer(out, timeline, score, bitrate, pub).tag_header(folder)

        steps = encode_session(out, bitrate, tag_header, timeline, score, chunks, on_progress,
                               measure)  # fmt: skip
        return session_measured(out, steps, timeline.total, timeline.rate_hz) if measure else None
    meter = StepMeter(timeline.rate_hz, score.channels) if measure else None
    with publishing() as pub, contextlib.ExitStack() as writers:
        lossless = None
        if master is not None:
            lossless = writers.enter_context(
                MasterWriter(master, rate_hz=timeline.rate_hz, channels=score.channels)
            )
        mp3 = writers.enter_context(_mp3_writer(out, timeline, score, bitrate, pub))
        for block in render_blocks(timeline, score):
            mp3.write(block)
            if meter:
                meter.add(block)
            if lossless is not None:
                lossless.write(block)
            if on_progress:
                on_progress("rendering", mp3.frames_written, timeline.total)
    if meter is None:
        return None
    return session_measured(out, [meter.steps()], timeline.total, timeline.rate_hz)


def _mp3_writer(
    out: Path, timeline: Timeline, score: MixScore, bitrate: str, pub: Prepared
) -> Mp3Writer:
    return Mp3Writer(
        out,
        rate_hz=timeline.rate_hz,
        channels=score.channels,
        bitrate=bitrate,
        tags={"encoder": f"pmr {__version__}"},
        metadata=pub.metadata,
        cover=pub.cover,
        finish=pub.finish,
    )


def chunk_jobs(
    jobs: int | None, timeline: Timeline, master: Path | None, bitrate: str, channels: int
) -> int:
    """How many chunks to encode at once: --jobs, else the cores from AUTO_CHUNKED_S on; 1
    (the serial path) for a master, a sample rate MPEG-1 has not, a bitrate whose frames hold
    no Xing/LAME frame (the joined stream's length), or a session too short to split."""
    wanted = jobs
    if wanted is None:
        wanted = (os.cpu_count() or 1) if timeline.seconds >= AUTO_CHUNKED_S else 1
    if wanted <= 1 or master is not None or timeline.rate_hz not in MPEG1_RATES_HZ:
        return 1
    if not holds_info_frame(kbps(bitrate), timeline.rate_hz, channels):
        return 1
    return wanted if len(plan_chunks(timeline.total, wanted)) > 1 else 1


def session_script(options: BuildOptions, language: str = "en") -> Script:
    """The routine as this listener gets it: loaded (a text script in the voice's `language`),
    then fitted to their body."""
    return adapt(load_script(options.routine, language=language), options.body)


def with_routine_defaults(options: BuildOptions, script: Script) -> BuildOptions:
    """Loudness and background: the command line's, else the routine's own, else the default."""
    return dataclasses.replace(
        options,
        loudness=options.loudness or script.loudness or DEFAULT_LOUDNESS,
        background=options.background or script.background or DEFAULT_BACKGROUND,
    )


def described(episode: EpisodeInfo, script: Script, body: Body) -> EpisodeInfo:
    """The episode description says how the session was fitted to the listener's body."""
    if body.plain:
        return episode
    text = f"{episode.description or script.description} Adapted: {body.describe()}."
    return dataclasses.replace(episode, description=text)


def mix_settings(options: BuildOptions) -> MixSettings:
    """The sound options, checked before any work is done."""
    target = resolve_loudness(options.loudness or DEFAULT_LOUDNESS, options.mono)
    background = options.background or DEFAULT_BACKGROUND
    check_background(background, target.channels)
    return MixSettings(
        background=background,
        bed_level_lu=check_bed_level(options.bed_level_lu),
        target=target,
        chimes=options.chimes,
        section_chimes=options.section_chimes,
        tones=options.tones,
        seed=options.seed,
    )


def narrate_at_pace(
    options: BuildOptions,
    script: Script,
    voice: VoiceProfile,
    rate_hz: int,
    on_progress: Progress | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> Clips:
    """Narrate at the routine's pace (or --pace); when that makes the routine too long for
    --minutes, narrate again a little faster (tighten.py) and say so."""
    pace, phrasing = narration_pace(options.pace)
    cache = ClipCache(options.cache_dir or default_cache_dir())

    def speak(pace: float | None, phrasing: Phrasing | None) -> Clips:
        return narrate(
            script, voice, cache, rate_hz, on_progress, offline=options.offline,
            strict=options.strict, fill_missing=options.fill_missing, on_notice=on_notice,
            pace=pace, phrasing=phrasing,
        )  # fmt: skip

    clips = speak(pace, phrasing)
    synthetic = {i for i, engine in clips.engines.items() if engine in SYNTHETIC_ENGINES}
    calm = script.delivery if pace is None else Delivery(pace, phrasing or Phrasing())
    minutes = session_minutes(options.minutes, script)
    if minutes == "natural":  # the routine as written: nothing to tighten
        return clips
    label, target_s = f"{script.name} with {voice.name}", float(minutes) * 60
    check_reach(script, clips.frames, synthetic, rate_hz, target_s, calm.pace, label)
    scale = tighter(script, clips.frames, synthetic, rate_hz, target_s, calm.pace)
    if scale is None:
        return clips
    phrasing = phrasing or voice.phrasing or calm.phrasing
    for _ in range(2):  # the engine's timing is not exactly linear: correct once if needed
        faster = speak(
            calm.pace / scale, Phrasing(phrasing.sentence_s * scale, phrasing.clause_s * scale)
        )
        more = tighter(script, faster.frames, synthetic, rate_hz, target_s, calm.pace / scale)
        if more is None:
            break
        scale *= more
    clips = faster
    if on_notice:
        on_notice(
            f"{float(minutes):g} min is short for {script.name} at its pace: read "
            f"{100 / scale - 100:.0f}% faster, with shorter pauses between phrases"
        )
    return clips


def narration_pace(value: str | None) -> tuple[float | None, Phrasing | None]:
    """--pace: (pace, phrasing) for narrate; None where the routine's own applies (a number
    keeps the routine's phrasing, a mood brings its own)."""
    if value is None:
        return None, None
    try:
        delivery = resolve_pace(value, "--pace")
    except ValueError as error:
        raise VoiceError(str(error)) from None
    return delivery.pace, delivery.phrasing if delivery.mood else None


def check_minutes(minutes: float) -> None:
    if not (minutes == minutes and 0 < minutes <= MAX_MINUTES):  # NaN != NaN
        raise FitError(
            f"--minutes {minutes}: give a number of minutes above 0, at most {MAX_MINUTES:g}"
        )
