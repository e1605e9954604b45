"""The documents `pmr serve --share` makes for the address it serves at, from the folder's
manifests: feed.xml, index.html and the playlists, every URL in them under the share base
(`http://HOST:PORT/TOKEN/`), so `pmr feed` need not know that address in advance.

The podcast's own text (title, author, description, owner e-mail, serial or episodic, cover)
is read back from the folder's `feed.xml` when `pmr feed`, `pmr program` or a batch wrote one;
a folder without one gets defaults: the sessions' series as title, "pmr" as author, and a cover
drawn for that title (made in memory: serving never writes a session file). Documents are made
anew for each request, so sessions built while serving show up at once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

from ...tuning import SAFETY_NOTE
from ..cover import draw_cover
from ..feed import (
    FEED_NAME,
    INDEX_NAME,
    ITUNES_NS,
    Entry,
    FeedOptions,
    feed_xml,
    load_entries,
    playlist,
    playlist_name,
)
from ..index_page import feed_info, folder_page

DEFAULT_AUTHOR = "pmr"
DRAWN_COVER = "cover.png"


@dataclass(frozen=True)
class Document:
    body: bytes
    name: str  # its file name, for the content type


def channel(folder: Path, entries: tuple[Entry, ...], base_url: str, guid: str) -> FeedOptions:
    """The feed's options for `base_url`: the podcast's text from `feed.xml`, else defaults."""
    series = Counter(e.series for e in entries).most_common(1)[0][0]
    defaults = FeedOptions(title=series, author=DEFAULT_AUTHOR, base_url=base_url, guid=guid)
    path = folder / FEED_NAME
    try:
        found = etree.parse(str(path)).find("channel") if path.is_file() else None
    except etree.XMLSyntaxError:
        found = None
    if found is None:
        return defaults
    it = f"{{{ITUNES_NS}}}"
    description = (found.findtext("description") or "").removesuffix(SAFETY_NOTE).rstrip()
    return FeedOptions(
        title=found.findtext("title") or defaults.title,
        author=found.findtext(f"{it}author") or defaults.author,
        base_url=base_url,
        description=description,
        language=found.findtext("language"),
        email=found.findtext(f"{it}owner/{it}email"),
        serial=found.findtext(f"{it}type") == "serial",
        guid=guid,
    )


def cover_name(folder: Path) -> str:
    """The cover the folder's feed names (or a cover file there); else the drawn one."""
    named = feed_info(folder)[1]
    candidates = (named, "cover.png", "cover.jpg")
    return next((n for n in candidates if n and (folder / n).is_file()), DRAWN_COVER)


@lru_cache(maxsize=8)
def _drawn_cover(title: str, author: str) -> bytes:
    return draw_cover(title, author, title)


def document(folder: Path, base_url: str, guid: str, name: str) -> Document | None:
    """The generated document called `name` (a decoded top-level file name; '' is the index
    page), or None when `name` is a file to serve from the disk as it is."""
    if name not in ("", INDEX_NAME, FEED_NAME, DRAWN_COVER) and not name.endswith(".m3u8"):
        return None
    entries = load_entries(folder)
    options = channel(folder, entries, base_url, guid)
    cover = cover_name(folder)
    if name == DRAWN_COVER:
        if cover != DRAWN_COVER or (folder / DRAWN_COVER).is_file():
            return None
        return Document(_drawn_cover(options.title, options.author), DRAWN_COVER)
    if name == FEED_NAME:
        return Document(feed_xml(entries, options, cover), FEED_NAME)
    if name in ("", INDEX_NAME):
        names = {FEED_NAME, *(playlist_name(e.series) for e in entries)}
        page = folder_page(
            folder, entries, options.title, cover, names.__contains__, base_url + FEED_NAME
        )
        return Document(page.encode("utf-8"), INDEX_NAME)
    series = [s for s in dict.fromkeys(e.series for e in entries) if playlist_name(s) == name]
    if not series:
        return None
    mine = tuple(e for e in entries if e.series == series[0])
    return Document(playlist(mine, base_url).encode("utf-8"), name)
