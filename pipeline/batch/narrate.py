"""Narration for a batch: each unique (line, voice) synthesized once, before any rendering.

Narration runs in the parent process, one (routine, voice, options) key after another, so the
clips go through the shared cache once and each engine is driven at its own pace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import PmrError
from ..narration import ClipCache, Clips, narrate
from .jobs import BatchProgress, OnProgress
from .staleness import Assessed


@dataclass(frozen=True)
class NarrationKey:
    """What a variant's narration depends on: variants with equal keys share one narration."""

    routine: str
    voice: str
    rate_hz: int
    offline: bool
    strict: bool
    fill_missing: bool

    @classmethod
    def of(cls, p: Assessed) -> NarrationKey:
        o = p.variant.build_options(None)
        return cls(
            p.variant.routine, p.variant.voice, o.rate_hz, o.offline, o.strict, o.fill_missing
        )


@dataclass(frozen=True)
class Narrated:
    unique: int  # unique (voice, rate, line text) over the keys narrated
    synthesized: int  # clips the engines made
    errors: dict[NarrationKey, str]  # narration failed: its variants fail with the reason
    fell_back: dict[NarrationKey, str]  # a fallback voice helped out although not asked to
    notices: tuple[str, ...]


def narrate_all(
    todo: Sequence[Assessed],
    cache: ClipCache,
    emit: OnProgress,
    on_notice: Callable[[str], None] | None = None,
) -> Narrated:
    """Synthesize the union of lines over all variants to build, each (line, voice) once,
    key after key (each engine speaks at its own concurrency, inside `narrate`).

    A fallback that the options didn't ask for (an online engine unreachable) is remembered:
    those variants are built from the fallback's clips but not stamped, so the next run
    tries the real voice again.
    """
    keys: dict[NarrationKey, Assessed] = {}
    for p in todo:
        keys.setdefault(NarrationKey.of(p), p)
    unique = {
        (p.voice.name, key.rate_hz, line.text)
        for key, p in keys.items()
        for line in p.script.lines()
    }
    total = sum(len(list(p.script.lines())) for p in keys.values())
    done, made = 0, 0
    errors: dict[NarrationKey, str] = {}
    fell_back: dict[NarrationKey, str] = {}
    notices: list[str] = []
    for key, p in keys.items():

        def progress(stage: str, n: int, _: int, offset: int = done) -> None:
            emit(BatchProgress("narrating", "", offset + n, total))

        try:
            clips = _narrate(key, p, cache, progress, on_notice)
        except PmrError as exc:
            errors[key] = str(exc)
        except Exception as exc:  # a bug must not stop the other keys
            errors[key] = f"internal error while narrating: {type(exc).__name__}: {exc}"
        else:
            made += clips.synthesized
            notices += clips.notices
            if note := _fallback_note(key, p, clips):
                fell_back[key] = note
        done += len(list(p.script.lines()))
        emit(BatchProgress("narrating", "", done, total))
    return Narrated(len(unique), made, errors, fell_back, tuple(notices))


def _narrate(
    key: NarrationKey,
    p: Assessed,
    cache: ClipCache,
    progress: Callable[[str, int, int], None],
    on_notice: Callable[[str], None] | None,
) -> Clips:
    return narrate(
        p.script,
        p.voice,
        cache,
        key.rate_hz,
        progress,
        offline=key.offline,
        strict=key.strict,
        fill_missing=key.fill_missing,
        on_notice=on_notice,
    )


def _fallback_note(key: NarrationKey, p: Assessed, clips: Clips) -> str:
    """Why these variants won't be stamped, when a voice other than theirs spoke unasked."""
    others = sorted(set(clips.voices.values()) - {p.voice.name})
    if not others or key.offline or key.fill_missing:
        return ""
    return (
        f"spoken by {', '.join(others)} ({p.voice.name} could not speak); "
        "not stamped, so the next run tries again"
    )
