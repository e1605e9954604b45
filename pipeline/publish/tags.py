"""What a player reads from the MP3 itself: ID3v2.3 tags, chapters and cover art, and the
episode facts they come from.

`id3_tags` and `ffmetadata` are pure text builders over the Timeline in frames (seconds only at
this edge); `prepare` writes them and the cover to a temp folder for one encode.
Specs followed: ID3v2.3 (id3.org/id3v2.3.0), ID3v2 Chapter Frame Addendum 1.0 (CHAP, CTOC).
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import PublishError
from ..fit import Timeline
from ..languages import iso639_2
from ..template import Script
from .cover import cached_cover, check_cover

DEFAULT_SERIES = "pmr sessions"
GENRE = "Meditation"


@dataclass(frozen=True)
class EpisodeInfo:
    """Where a session sits in a series and what a player shows for it; all optional."""

    series: str = DEFAULT_SERIES  # ID3 album, feed and playlist grouping
    title: str | None = None  # default: "<routine title> (<N> min)"
    description: str | None = None  # default: the routine's description
    artist: str | None = None  # default: "pmr (<voice>)"
    track: int | None = None
    track_total: int | None = None
    pub_date: datetime | None = None  # feed pubDate; default: build time
    cover: Path | None = None  # a JPEG/PNG; default: one drawn for the routine
    extra: dict[str, object] = field(default_factory=dict, compare=False)  # manifest extras


def episode_title(script: Script, timeline: Timeline, episode: EpisodeInfo) -> str:
    return episode.title or f"{script.title} ({round(timeline.seconds / 60, 1):g} min)"


def _ffmeta_escape(value: str) -> str:
    """ffmetadata values escape '=', ';', '#', '\\' and newlines with a backslash."""
    return re.sub(r"([=;#\\\n])", r"\\\1", value)


def id3_tags(
    script: Script, timeline: Timeline, episode: EpisodeInfo, voice_name: str, year: int
) -> dict[str, str]:
    """ffmpeg metadata keys -> ID3v2.3 frames (title TIT2, artist TPE1, album TALB, track TRCK,
    genre TCON, TYER, TLAN, TLEN in ms, TIT3 description). COMM is added in `finish_tags`."""
    track = ""
    if episode.track is not None:
        total = f"/{episode.track_total}" if episode.track_total else ""
        track = f"{episode.track}{total}"
    tags = {
        "title": episode_title(script, timeline, episode),
        "artist": episode.artist or f"pmr ({voice_name})",
        "album_artist": episode.artist or "pmr",
        "album": episode.series,
        "track": track,
        "genre": GENRE,
        "TYER": str(year),
        "language": iso639_2(script.language),  # TLAN: ISO 639-2, 'XXX' when unknown
        "TLEN": str(round(timeline.total * 1000 / timeline.rate_hz)),
        "TIT3": episode.description or script.description,
    }
    return {k: v for k, v in tags.items() if v}


def ffmetadata(tags: dict[str, str], timeline: Timeline) -> str:
    """The ffmetadata file: global tags, then one [CHAPTER] per section in sample units."""
    out = [";FFMETADATA1"]
    out += [f"{_ffmeta_escape(k)}={_ffmeta_escape(v)}" for k, v in tags.items()]
    ends = [c.start for c in timeline.chapters[1:]] + [timeline.total]
    for chapter, end in zip(timeline.chapters, ends, strict=True):
        out += [
            "",
            "[CHAPTER]",
            f"TIMEBASE=1/{timeline.rate_hz}",
            f"START={chapter.start}",
            f"END={end}",
            f"title={_ffmeta_escape(chapter.title)}",
        ]
    return "\n".join(out) + "\n"


def finish_tags(description: str, language: str) -> Callable[[Path], None]:
    """A hook for Mp3Writer: add the COMM (description) frame that ffmpeg's muxer can't write.

    Loaded with translate=False and saved as v2.3, so ffmpeg's v2.3 frames (TYER, CHAP order)
    stay exactly as written.
    """

    def finish(path: Path) -> None:
        from mutagen import MutagenError
        from mutagen.id3 import COMM, ID3

        if not description:
            return
        try:
            tags = ID3(path, translate=False)
            tags.add(COMM(encoding=1, lang=language, desc="", text=[description]))
            tags.save(path, v2_version=3)
        except (MutagenError, OSError) as exc:
            raise PublishError(f"{path}: can't add the description tag ({exc})") from None

    return finish


@dataclass(frozen=True)
class Prepared:
    """What the encoder needs for publishing: the ffmetadata file, the cover, the COMM hook."""

    metadata: Path
    cover: Path
    cover_generated: bool
    finish: Callable[[Path], None]


@contextlib.contextmanager
def prepare(
    script: Script,
    timeline: Timeline,
    episode: EpisodeInfo,
    voice_name: str,
    now: datetime,
    cache_dir: Path | None = None,
) -> Iterator[Prepared]:
    """Temp ffmetadata + cover files for one encode; removed afterwards. A generated cover is
    kept in `cache_dir` (see `cached_cover`) when one is given."""
    tags = id3_tags(script, timeline, episode, voice_name, (episode.pub_date or now).year)
    with tempfile.TemporaryDirectory(prefix="pmr-publish-") as folder:
        metadata = Path(folder) / "tags.ffmeta"
        metadata.write_text(ffmetadata(tags, timeline), encoding="utf-8")
        if episode.cover is not None:
            cover, generated = check_cover(episode.cover), False
        else:
            cover, generated = Path(folder) / "cover.png", True
            cover.write_bytes(cached_cover(script.title, episode.series, script.name, cache_dir))
        description = episode.description or script.description
        yield Prepared(metadata, cover, generated, finish_tags(description, tags["language"]))


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
