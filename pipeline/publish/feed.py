"""Manifest entries in a folder -> a podcast feed (RSS 2.0 + itunes + podcast namespaces) and
an M3U8 playlist per series.

The feed is written with feedgen; its own `podcast` extension covers the older itunes tags, and
`PodcastIndexExtension` below adds the Podcasting 2.0 namespace
(https://podcastindex.org/namespace/1.0: guid, medium, transcript, chapters) plus the current
Apple values feedgen predates (category "Health & Fitness" > "Mental Health", explicit "false").
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from feedgen.ext.base import BaseExtension
from lxml import etree

from ..errors import PublishError
from ..files import mark, write_atomic
from ..languages import bcp47
from ..names import safe_filename
from ..tuning import PODCAST_GUID_NAMESPACE, SAFETY_NOTE
from .cover import check_cover, draw_cover
from .share.store import kept_guid
from .sidecars import MANIFEST_SUFFIX

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
CATEGORY = ("Health & Fitness", "Mental Health")
FEED_NAME = "feed.xml"
INDEX_NAME = "index.html"


@dataclass(frozen=True)
class ChapterMark:
    start_s: float
    title: str


@dataclass(frozen=True)
class Entry:
    """One episode as the feed, playlist and index page need it (read from its manifest)."""

    file: str
    title: str
    series: str
    description: str
    language: str
    pub_date: datetime
    duration_s: float
    size_bytes: int
    track: int | None
    vtt: str
    srt: str
    chapters_file: str
    chapters: tuple[ChapterMark, ...]

    @property
    def guid(self) -> str:
        """Stable across rebuilds and moves to another host: it names the series and file."""
        name = f"{self.series}/{self.file}"
        return f"urn:uuid:{uuid.uuid5(uuid.UUID(PODCAST_GUID_NAMESPACE), name)}"


@dataclass(frozen=True)
class FeedOptions:
    title: str
    author: str
    base_url: str  # where OUTPUT_DIR is served, e.g. https://example.org/pmr/
    image: Path | None = None  # square JPEG/PNG; default: drawn as cover.png
    description: str = ""
    language: str | None = None  # default: the episodes' language
    email: str | None = None  # itunes:owner, which Apple asks of submitted feeds
    serial: bool = False  # itunes:type serial: play in order (a practice program)
    feed_name: str = FEED_NAME
    guid: str | None = None  # podcast:guid; None: made from the feed URL (write_feed keeps one)


def load_entries(folder: Path) -> tuple[Entry, ...]:
    """Every `*.manifest.json` in `folder` whose MP3 and sidecars are there, oldest first."""
    if not folder.is_dir():
        raise PublishError(f"{folder}: no such folder; give the folder your sessions were built in")
    entries = []
    for path in sorted(folder.glob(f"*{MANIFEST_SUFFIX}")):
        entry = _entry(path)
        for name in (entry.file, entry.vtt, entry.srt, entry.chapters_file):
            if not (folder / name).is_file():
                raise PublishError(
                    f"{path}: names {name}, which is missing; rebuild that session or delete "
                    "its manifest entry"
                )
        entries.append(entry)
    if not entries:
        raise PublishError(
            f"{folder}: no sessions found (no *{MANIFEST_SUFFIX}); build some first, e.g. "
            f"pmr build full --out {folder}/full.mp3"
        )
    return tuple(sorted(entries, key=lambda e: (e.pub_date, e.track or 0, e.file)))


def _entry(path: Path) -> Entry:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Entry(
            file=doc["file"],
            title=doc["title"],
            series=doc["series"],
            description=doc.get("description") or "",
            language=bcp47(str(doc["language"])),  # BCP 47 for RSS, WebVTT and HTML
            pub_date=datetime.fromisoformat(doc["pub_date"]),
            duration_s=float(doc["duration_s"]),
            size_bytes=int(doc["size_bytes"]),
            track=doc.get("track"),
            vtt=doc["transcripts"]["vtt"],
            srt=doc["transcripts"]["srt"],
            chapters_file=doc["chapters_file"],
            chapters=tuple(ChapterMark(float(c["start_s"]), c["title"]) for c in doc["chapters"]),
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PublishError(f"{path}: can't read this manifest entry ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise PublishError(
            f"{path}: not a pmr manifest entry (bad or missing {exc}); rebuild that session"
        ) from None


def check_base_url(base_url: str) -> str:
    """An absolute http(s) URL ending in '/', so file names can be appended."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise PublishError(
            f"--base-url {base_url!r}: give the absolute http(s) address the folder is served "
            "at, e.g. https://example.org/pmr/ or http://192.168.1.20:8000/"
        )
    return base_url if base_url.endswith("/") else base_url + "/"


def podcast_guid(feed_url: str) -> str:
    """Podcasting 2.0 podcast:guid: UUIDv5 of the feed URL without scheme and trailing '/'."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(uuid.UUID(PODCAST_GUID_NAMESPACE), bare))


def guid_in_feed(path: Path) -> str | None:
    """The podcast:guid of a feed already written, if it has one."""
    if not path.is_file():
        return None
    try:
        return etree.parse(str(path)).findtext(f"channel/{{{PODCAST_NS}}}guid") or None
    except etree.XMLSyntaxError:
        return None


def describe(entry: Entry) -> str:
    """An episode's show notes: description, chapter list, and always the safety note."""
    chapters = "\n".join(f"{_hms(c.start_s)} {c.title}" for c in entry.chapters)
    parts = [entry.description, f"Chapters:\n{chapters}" if chapters else "", SAFETY_NOTE]
    return "\n\n".join(p for p in parts if p)


def _hms(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600:d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def feed_xml(entries: tuple[Entry, ...], options: FeedOptions, image_name: str) -> bytes:
    """The RSS document (pure: entries and options in, bytes out)."""
    from feedgen.feed import FeedGenerator

    base = check_base_url(options.base_url)
    url = base + quote(options.feed_name)
    common = Counter(e.language for e in entries).most_common(1)[0][0]
    language = bcp47(options.language) if options.language else common
    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("podcastindex", PodcastIndexExtension, PodcastIndexEntryExtension)
    fg.title(options.title)
    fg.description("\n\n".join(p for p in (options.description, SAFETY_NOTE) if p))
    fg.link(href=url, rel="self")
    fg.link(href=base + INDEX_NAME, rel="alternate")  # after self: feedgen's <link> is the last
    fg.language(language)
    fg.generator(mark())
    fg.author({"name": options.author, **({"email": options.email} if options.email else {})})
    fg.image(base + quote(image_name), title=options.title, link=base + INDEX_NAME)
    fg.podcast.itunes_author(options.author)
    fg.podcast.itunes_image(base + quote(image_name))
    fg.podcast.itunes_summary(options.description or options.title)
    fg.podcast.itunes_type("serial" if options.serial else "episodic")
    if options.email:
        fg.podcast.itunes_owner(name=options.author, email=options.email)
    fg.podcastindex.guid = options.guid or podcast_guid(url)
    for entry in entries:  # feedgen prepends: the newest ends up first, as readers expect
        fe = fg.add_entry()
        fe.title(entry.title)
        fe.guid(entry.guid, permalink=False)
        fe.pubDate(entry.pub_date)
        fe.description(describe(entry))
        fe.enclosure(base + quote(entry.file), str(entry.size_bytes), "audio/mpeg")
        fe.podcast.itunes_duration(round(entry.duration_s))
        fe.podcast.itunes_summary(describe(entry))
        if entry.track is not None:
            fe.podcast.itunes_episode(entry.track)
        fe.podcastindex.transcripts = (
            (base + quote(entry.vtt), "text/vtt", entry.language, "captions"),
            (base + quote(entry.srt), "application/x-subrip", entry.language, None),
        )
        fe.podcastindex.chapters = base + quote(entry.chapters_file)
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)


class PodcastIndexExtension(BaseExtension):
    """Channel: podcast:guid and podcast:medium, itunes:category and itunes:explicit."""

    def __init__(self) -> None:
        self.guid: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, rss_feed):
        from feedgen.util import xml_elem

        channel = rss_feed[0]
        category = xml_elem(f"{{{ITUNES_NS}}}category", channel)
        category.attrib["text"] = CATEGORY[0]
        xml_elem(f"{{{ITUNES_NS}}}category", category).attrib["text"] = CATEGORY[1]
        xml_elem(f"{{{ITUNES_NS}}}explicit", channel).text = "false"
        if self.guid:
            xml_elem(f"{{{PODCAST_NS}}}guid", channel).text = self.guid
        xml_elem(f"{{{PODCAST_NS}}}medium", channel).text = "podcast"
        return rss_feed

    def extend_atom(self, feed):
        return feed


class PodcastIndexEntryExtension(PodcastIndexExtension):
    """Item: podcast:transcript (one per format) and podcast:chapters."""

    def __init__(self) -> None:
        super().__init__()
        self.transcripts: tuple[tuple[str, str, str, str | None], ...] = ()
        self.chapters: str | None = None

    def extend_rss(self, entry):
        from feedgen.util import xml_elem

        for url, kind, language, rel in self.transcripts:
            element = xml_elem(f"{{{PODCAST_NS}}}transcript", entry)
            element.attrib.update({"url": url, "type": kind, "language": language})
            if rel:
                element.attrib["rel"] = rel
        if self.chapters:
            element = xml_elem(f"{{{PODCAST_NS}}}chapters", entry)
            element.attrib.update({"url": self.chapters, "type": "application/json+chapters"})
        return entry


def playlist(entries: tuple[Entry, ...], base_url: str = "") -> str:
    """An extended M3U (UTF-8, .m3u8) in listening order: paths relative to the playlist, or
    absolute URLs under `base_url` (for a playlist saved away from where it was served)."""
    lines = ["#EXTM3U"]
    for entry in entries:
        where = base_url + quote(entry.file) if base_url else entry.file
        lines += [f"#EXTINF:{round(entry.duration_s)},{entry.series} - {entry.title}", where]
    return "\n".join([*lines, f"# {mark()}"]) + "\n"  # a comment line: pmr's mark


def playlist_name(series: str) -> str:
    return safe_filename(series, ".m3u8")


def write_playlists(folder: Path, entries: tuple[Entry, ...]) -> list[Path]:
    """One `<series>.m3u8` per series found in the folder."""
    written = []
    for series in dict.fromkeys(e.series for e in entries):
        mine = tuple(e for e in entries if e.series == series)
        written.append(
            write_atomic(folder / playlist_name(series), playlist(mine), error=PublishError)
        )
    return written


def write_feed(folder: Path, options: FeedOptions) -> Path:
    """Write `feed.xml` (plus cover art and playlists) into the served folder."""
    check_base_url(options.base_url)
    entries = load_entries(folder)
    if options.image is not None:
        check_cover(options.image)
        suffix = ".jpg" if options.image.read_bytes()[:2] == b"\xff\xd8" else ".png"
        image_name = "cover" + suffix
        if options.image.resolve() != (folder / image_name).resolve():
            write_atomic(folder / image_name, options.image.read_bytes(), error=PublishError)
    else:
        image_name = "cover.png"
        art = draw_cover(options.title, options.author, options.title)
        write_atomic(folder / image_name, art, error=PublishError)
    url = check_base_url(options.base_url) + quote(options.feed_name)
    guid = kept_guid(folder, lambda: guid_in_feed(folder / options.feed_name) or podcast_guid(url))
    xml = feed_xml(entries, replace(options, guid=guid), image_name)
    write_playlists(folder, entries)
    return write_atomic(folder / options.feed_name, xml, error=PublishError)
