"""The narration stage: Script + voice profile -> clips, each synthesized once and cached.

When a voice's engine can't speak (unreachable, `offline`, or a recorded pack missing lines
with `fill_missing`), the lines left go to the profile's `fallback` voice; one notice says so
and `Clips.voices` records per line which voice spoke it. `strict` turns that into an error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..dsp import normalize_peak, resample, trim_silence
from ..errors import VoiceError
from ..template import Line, Script
from ..tuning import CLIP_PAD_S, CLIP_SILENCE_DBFS, VOICE_PEAK_DBFS
from .cache import ClipCache
from .engines import Engine, EngineUnavailable, engine_for
from .profiles import VoiceProfile, load_voice

Progress = Callable[[str, int, int], None]
Notice = Callable[[str], None]


@dataclass(frozen=True)
class Clips:
    """Narration ready to place: per line id, its cached file and its length in frames."""

    rate_hz: int
    paths: Mapping[str, Path]
    frames: Mapping[str, int]
    synthesized: int  # clips made by this call; 0 when the cache was warm
    voices: Mapping[str, str] = field(default_factory=dict)  # line id -> voice that spoke it
    engines: Mapping[str, str] = field(default_factory=dict)  # line id -> its engine
    repaired: tuple[str, ...] = ()  # line ids whose cache entry was corrupt and re-made
    notices: tuple[str, ...] = ()  # what was said on stderr (fallbacks, repairs)
    speech_s: float = 0.0  # seconds of audio synthesized by this call
    synthesis_s: float = 0.0  # wall time spent synthesizing them

    def load(self, line_id: str) -> np.ndarray:
        return np.load(self.paths[line_id], mmap_mode="r")


@dataclass(frozen=True)
class _Spoken:
    path: Path
    frames: int
    voice: str
    engine: str


class _Stopped(Exception):
    """A worker skipped its line because the engine already failed."""


def narrate(
    script: Script,
    voice: VoiceProfile,
    cache: ClipCache,
    rate_hz: int,
    on_progress: Progress | None = None,
    *,
    offline: bool = False,
    strict: bool = False,
    fill_missing: bool = False,
    on_notice: Notice | None = None,
) -> Clips:
    _check_language(voice, script)
    lines = list(script.lines())
    run = _Run(cache, rate_hz, len(lines), offline, fill_missing, on_progress)
    spoken: dict[str, _Spoken] = {}
    notices: list[str] = []
    profile, pending, tried = voice, lines, [voice.name]
    while pending:
        pending, cause = run.speak(profile, pending, spoken)
        if not pending:
            break
        fallback = _fallback(profile, script, cause, len(pending), strict, tried)
        notices.append(
            f"voice {profile.name} ({profile.engine}) can't speak: {cause}; "
            f"{len(pending)} line(s) spoken by {fallback.name} instead"
        )
        if on_notice:
            on_notice(notices[-1])
        profile = fallback
        tried.append(profile.name)
    if run.repaired:
        notices.append(
            f"cache: {len(run.repaired)} corrupt clip(s) detected and re-synthesized: "
            f"{', '.join(run.repaired)}"
        )
        if on_notice:
            on_notice(notices[-1])
    return Clips(
        rate_hz=rate_hz,
        paths={line.id: spoken[line.id].path for line in lines},
        frames={line.id: spoken[line.id].frames for line in lines},
        synthesized=run.made,
        voices={line.id: spoken[line.id].voice for line in lines},
        engines={line.id: spoken[line.id].engine for line in lines},
        repaired=tuple(run.repaired),
        notices=tuple(notices),
        speech_s=run.made_frames / rate_hz,
        synthesis_s=run.busy_s,
    )


def _fallback(
    profile: VoiceProfile, script: Script, cause: str, left: int, strict: bool, tried: list[str]
) -> VoiceProfile:
    """The voice that speaks the `left` lines `profile` couldn't, or the error saying why none."""
    if strict:
        raise VoiceError(
            f"voice {profile.name} ({profile.engine}) can't speak {left} line(s): "
            f"{cause}; --strict allows no fallback"
        )
    if not profile.fallback:
        raise VoiceError(
            f"voice {profile.name} ({profile.engine}) can't speak: {cause}; it names no "
            f"fallback voice (a `fallback` key in {profile.source} names one) "
            "or choose another --voice"
        )
    fallback = load_voice(profile.fallback)
    if fallback.name in tried:
        raise VoiceError(f"{profile.source}: fallback: {' -> '.join(tried)} loops")
    _check_language(fallback, script)
    return fallback


def _check_language(voice: VoiceProfile, script: Script) -> None:
    if voice.language.split("-")[0] != script.language.split("-")[0]:
        raise VoiceError(
            f"voice {voice.name} speaks {voice.language!r} but routine {script.name} is in "
            f"{script.language!r}; choose a voice for {script.language!r}"
        )


class _Run:
    """One narrate call's state: the cache, counters and progress across voices."""

    def __init__(
        self,
        cache: ClipCache,
        rate_hz: int,
        total: int,
        offline: bool,
        fill_missing: bool,
        on_progress: Progress | None,
    ) -> None:
        self.cache, self.rate_hz, self.total = cache, rate_hz, total
        self.offline, self.fill_missing, self.on_progress = offline, fill_missing, on_progress
        self.made = self.made_frames = 0
        self.busy_s = 0.0
        self.repaired: list[str] = []
        self.done = 0
        self._lock = threading.Lock()

    def speak(
        self, profile: VoiceProfile, lines: list[Line], spoken: dict[str, _Spoken]
    ) -> tuple[list[Line], str]:
        """Speak what this voice can; return the lines it couldn't and why."""
        engine = engine_for(profile)
        left: list[Line] = []
        cause = ""
        absent = engine.missing([line.id for line in lines])
        if absent is not None:
            if not self.fill_missing:
                raise absent
            left = [line for line in lines if line.id in absent.missing]
            lines = [line for line in lines if line.id not in absent.missing]
            cause = f"no recording for {len(absent.missing)} line(s) ({', '.join(absent.missing)})"
        params, version = profile.cache_params(), engine.version()
        keys = {
            line.id: self.cache.key(
                profile.name, engine.cache_text(line.text, line.id), params, version, self.rate_hz
            )
            for line in lines
        }
        todo: dict[str, Line] = {}
        for line in lines:
            key = keys[line.id]
            if key in todo:
                continue
            clip, corrupt = self.cache.lookup(key)
            if corrupt:
                self.repaired.append(line.id)
            if clip is None:
                todo[key] = line
            else:
                self._spoken(spoken, profile, line, keys, int(clip.shape[0]))
        if todo and profile.online and self.offline:
            left += [line for line in lines if line.id not in spoken]
            return left, "--offline: the network is not used"
        failed = self._synthesize(engine, profile, todo, lines, keys, spoken)
        if failed is not None:
            left += [line for line in lines if line.id not in spoken]
            cause = failed.cause
        return left, cause

    def _synthesize(
        self,
        engine: Engine,
        profile: VoiceProfile,
        todo: dict[str, Line],
        lines: list[Line],
        keys: dict[str, str],
        spoken: dict[str, _Spoken],
    ) -> EngineUnavailable | None:
        """Synthesize the cache misses in a thread pool; on the first EngineUnavailable, start
        nothing new and return it (other errors are raised)."""
        stop = threading.Event()
        sharing: dict[str, list[Line]] = {}  # cache key -> every line that clip speaks
        for line in lines:
            sharing.setdefault(keys[line.id], []).append(line)

        def work(key: str, line: Line) -> int:
            if stop.is_set():
                raise _Stopped
            started = time.monotonic()
            clip = _speak(engine, profile, line, self.rate_hz)
            self.cache.put(key, clip)
            with self._lock:
                self.busy_s += time.monotonic() - started
            return int(clip.shape[0])

        def finished(key: str, frames: int) -> None:
            self.made += 1
            self.made_frames += frames
            for line in sharing[key]:
                self._spoken(spoken, profile, line, keys, frames)

        with ThreadPoolExecutor(max_workers=max(1, engine.concurrency)) as pool:
            futures = {pool.submit(work, key, line): key for key, line in todo.items()}
            _collect(futures, stop, finished)
        unavailable: EngineUnavailable | None = None
        for future in futures:
            if future.cancelled():
                continue
            error = future.exception()
            if isinstance(error, EngineUnavailable):
                unavailable = unavailable or error
            elif error is not None and not isinstance(error, _Stopped):
                raise error
        return unavailable

    def _spoken(
        self,
        spoken: dict[str, _Spoken],
        profile: VoiceProfile,
        line: Line,
        keys: dict[str, str],
        frames: int,
    ) -> None:
        if line.id in spoken:
            return
        path = self.cache.path(keys[line.id])
        spoken[line.id] = _Spoken(path, frames, profile.name, profile.engine)
        self.done += 1
        if self.on_progress:
            self.on_progress("narrating", self.done, self.total)


def _collect(
    futures: dict[Future[int], str], stop: threading.Event, finished: Callable[[str, int], None]
) -> None:
    """Hand each clip to `finished` as it completes; after the first failure cancel what has
    not started (workers already running see `stop`); on Ctrl-C keep what is complete."""
    pending = set(futures)
    while pending:
        try:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
        except BaseException:
            stop.set()
            for other in futures:
                other.cancel()
            raise
        for future in done:
            if future.cancelled():  # cancelled below after an earlier failure
                continue
            error = future.exception()
            if error is None:
                finished(futures[future], future.result())
            elif not isinstance(error, _Stopped):
                stop.set()
                for other in pending:
                    other.cancel()


def _speak(engine: Engine, voice: VoiceProfile, line: Line, rate_hz: int) -> np.ndarray:
    """Synthesize and finish one clip: session rate, exact silence pad, consistent peak."""
    raw = engine.synthesize(line.text, line.id)
    clip = resample(raw.samples, raw.rate_hz, rate_hz)
    if raw.trim:
        clip = trim_silence(clip, rate_hz, CLIP_SILENCE_DBFS, CLIP_PAD_S)
    if clip.size == 0 or not np.any(clip):
        raise VoiceError(f"voice {voice.name}: the engine returned silence for {line.text!r}")
    return normalize_peak(clip, VOICE_PEAK_DBFS + voice.gain_db + raw.gain_db)
