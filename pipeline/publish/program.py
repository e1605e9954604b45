"""A practice program as a podcast series, following the source's advice: practise twice a day
until you get used to it, then once a day, or even only three or four times a week.

`SCHEDULE` is a data table. Each phase lists the routines it would like, best first, each with the
length it should have; the first routine that exists is used, so the program works today with
only `full` and picks up `learn`, `short` and `quick` as soon as they ship. One episode per week:
the listener replays it as often as the week's advice says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from ..build import BuildOptions, BuildResult, build
from ..errors import PublishError
from ..names import safe_filename
from ..template import builtin_routines
from .cover import check_cover
from .feed import FeedOptions, check_base_url, write_feed
from .tags import EpisodeInfo

MAX_WEEKS = 52
PUBLISH_TIME_UTC = time(6, 0)  # early morning in Europe, the night before in the Americas


@dataclass(frozen=True)
class Phase:
    key: str
    weeks: int  # how long the phase lasts; the last phase repeats for the remaining weeks
    routines: tuple[tuple[str, float], ...]  # (routine, minutes), best first
    how_often: str
    title: str
    advice: str


SCHEDULE: tuple[Phase, ...] = (
    Phase(
        "learn", 1, (("learn", 20.0), ("full", 20.0)), "twice a day",
        "Learn the muscle groups",
        "This week you learn each muscle group and how to tense and release it. Take your time: "
        "listen twice a day, once in the morning and once in the evening.",
    ),
    Phase(
        "full", 1, (("full", 15.0),), "twice a day",
        "The full routine",
        "Now go through the whole body, holding each tension for about five seconds and "
        "relaxing for at least fifteen. Keep practising twice a day.",
    ),
    Phase(
        "daily", 1, (("full", 12.0),), "once a day",
        "Making it a habit",
        "You are getting used to it: once a day is enough now, at a time of day you can keep.",
    ),
    Phase(
        "short", 1, (("short", 8.0), ("quick", 6.0), ("full", 10.0)), "three or four times a week",
        "Keeping it up",
        "Practise three or four times a week to keep the skill: this shorter session on busy "
        "days, the full one when you have time.",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class PlannedEpisode:
    week: int
    phase: str
    routine: str
    routine_wanted: str
    minutes: float
    title: str
    description: str
    pub_date: datetime


def schedule(
    weeks: int,
    start: date,
    available: tuple[str, ...],
    routine: str | None = None,
    minutes: float | None = None,
) -> tuple[PlannedEpisode, ...]:
    """The episodes of a `weeks`-long program starting on `start` (pure).

    `routine`/`minutes` override every phase (your own template, or short test sessions).
    """
    if not 1 <= weeks <= MAX_WEEKS:
        raise PublishError(f"--weeks {weeks}: give a number of weeks from 1 to {MAX_WEEKS}")
    episodes = []
    for week in range(1, weeks + 1):
        phase = _phase_of(week)
        wanted = phase.routines[0][0]
        chosen = routine, minutes
        if routine is None:
            chosen = next(((r, m) for r, m in phase.routines if r in available), (None, None))
            if chosen[0] is None:
                names = ", ".join(r for r, _ in phase.routines)
                raise PublishError(f"program week {week}: none of the routines {names} exists")
        name, length = chosen[0], minutes if minutes is not None else chosen[1]
        assert name is not None and length is not None
        episodes.append(
            PlannedEpisode(
                week=week,
                phase=phase.key,
                routine=name,
                routine_wanted=wanted,
                minutes=length,
                title=f"Week {week}: {phase.title} ({phase.how_often})",
                description=phase.advice,
                pub_date=datetime.combine(start + timedelta(weeks=week - 1), PUBLISH_TIME_UTC, UTC),
            )
        )
    return tuple(episodes)


def _phase_of(week: int) -> Phase:
    end = 0
    for phase in SCHEDULE:
        end += phase.weeks
        if week <= end:
            return phase
    return SCHEDULE[-1]


@dataclass(frozen=True)
class ProgramOptions:
    weeks: int = 4
    out: Path = Path("output") / "program"
    start: date | None = None  # default: today (UTC)
    title: str = "Progressive muscle relaxation: a practice program"
    author: str = "pmr"
    base_url: str = "http://127.0.0.1:8000/"  # what `pmr serve` answers on by default
    voice: str = "piper-joe"
    background: str = "pad"
    routine: str | None = None
    minutes: float | None = None
    cover: Path | None = None
    cache_dir: Path | None = None


Progress = Callable[[str, int, int], None]


def build_program(
    options: ProgramOptions, on_progress: Progress | None = None
) -> tuple[list[BuildResult], Path]:
    """Build every episode of the plan into `options.out`, then its feed and playlist."""
    check_base_url(options.base_url)  # fail before any build, not after the last one
    if options.cover is not None:
        check_cover(options.cover)
    start = options.start or datetime.now(UTC).date()
    episodes = schedule(
        options.weeks, start, tuple(builtin_routines()), options.routine, options.minutes
    )
    if options.out.exists() and not options.out.is_dir():
        raise PublishError(f"{options.out}: is a file; give a folder for the program")
    options.out.mkdir(parents=True, exist_ok=True)
    results = [
        build(_episode_options(options, index, episode, len(episodes)), on_progress)
        for index, episode in enumerate(episodes, start=1)
    ]
    feed = write_feed(
        options.out,
        FeedOptions(
            title=options.title,
            author=options.author,
            base_url=options.base_url,
            image=options.cover,
            description="A guided progressive muscle relaxation practice plan: "
            + "; ".join(f"week {e.week}: {e.title.split(': ', 1)[1]}" for e in episodes)
            + ".",
            serial=True,
        ),
    )
    return results, feed


def _episode_options(
    options: ProgramOptions, index: int, episode: PlannedEpisode, total: int
) -> BuildOptions:
    """The build of the program's episode number `index` (of `total`)."""
    info = EpisodeInfo(
        series=options.title,
        title=episode.title,
        description=episode.description,
        artist=options.author,
        track=index,
        track_total=total,
        pub_date=episode.pub_date,
        cover=options.cover,
        extra={
            "program": {
                "week": episode.week,
                "phase": episode.phase,
                "routine_wanted": episode.routine_wanted,
            }
        },
    )
    return BuildOptions(
        routine=episode.routine,
        minutes=episode.minutes,
        voice=options.voice,
        out=options.out / safe_filename(f"{index:02d} {episode.title}", ".mp3"),
        cache_dir=options.cache_dir,
        background=options.background,
        episode=info,
    )
