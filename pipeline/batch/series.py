"""The optional `[series]` of a matrix: the podcast feed and index page of the output folder,
rewritten at the end of a batch that built something (publishing does the writing)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BatchError, PmrError

SERIES_KEYS = ("title", "author", "base_url", "image", "description", "email", "index")


@dataclass(frozen=True)
class Series:
    title: str
    author: str
    base_url: str  # where the output folder is served
    image: Path | None = None
    description: str = ""
    email: str | None = None
    index: bool = True  # also write index.html


def parse_series(table: Mapping[str, Any], source: str, base: Path) -> Series:
    """Validate `[series]`; a bad value names the file and key (exit 2, before any work)."""
    from ..publish.feed import check_base_url

    def where(key: str) -> str:
        return f"{source}: series.{key}"

    for key in table:
        if key not in SERIES_KEYS:
            raise BatchError(f"{where(key)}: unknown key; valid keys: {', '.join(SERIES_KEYS)}")
    text = {}
    for key in ("title", "author", "base_url", "description", "email", "image"):
        value = table.get(key)
        required = key in ("title", "author", "base_url")
        if (value is None and required) or (
            value is not None and (not isinstance(value, str) or not value.strip())
        ):
            raise BatchError(f"{where(key)}: needs a non-empty string")
        text[key] = value
    try:
        base_url = check_base_url(text["base_url"])
    except PmrError as exc:
        raise BatchError(f"{where('base_url')}: {exc}") from None
    image = None
    if text["image"] is not None:
        image = Path(text["image"]) if Path(text["image"]).is_absolute() else base / text["image"]
        if not image.is_file():
            raise BatchError(f"{where('image')}: {text['image']!r}: no such file ({image})")
    index = table.get("index", True)
    if not isinstance(index, bool):
        raise BatchError(f"{where('index')}: {index!r} must be true or false")
    return Series(
        title=text["title"],
        author=text["author"],
        base_url=base_url,
        image=image,
        description=text["description"] or "",
        email=text["email"],
        index=index,
    )


def series_due(folder: Path, built: int) -> bool:
    """Rewrite the feed when a variant was built now, or when it was never written."""
    from ..publish.feed import FEED_NAME

    return built > 0 or not (folder / FEED_NAME).is_file()


def update_series(series: Series, folder: Path) -> list[Path]:
    """Write feed.xml (with cover and playlists) and index.html for every session in `folder`."""
    from ..publish.feed import FeedOptions, write_feed
    from ..publish.index_page import write_index

    options = FeedOptions(
        title=series.title,
        author=series.author,
        base_url=series.base_url,
        image=series.image,
        description=series.description,
        email=series.email,
    )
    written = [write_feed(folder, options)]
    if series.index:
        written.append(write_index(folder, series.title))
    return written
