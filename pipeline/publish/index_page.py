"""`pmr index`: one static HTML page for an output folder: a player per session, its length,
chapters (buttons that seek), transcript, and links to the feed and playlists.

Everything from users (titles, descriptions, transcript lines) goes through `html.escape`.
The page needs no server code and no network: open it from the disk or through `pmr serve`.
A small script marks each player "ready" once the browser has read its MP3's header, or
"missing" when it can't, so a broken link shows on the page itself.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

from lxml import etree

from ..errors import PublishError
from ..files import mark, write_atomic
from ..tuning import SAFETY_NOTE
from .feed import FEED_NAME, INDEX_NAME, Entry, load_entries, playlist_name
from .share.subscribe import SCRIPT as SUBSCRIBE_SCRIPT
from .share.subscribe import STYLE as SUBSCRIBE_STYLE
from .share.subscribe import subscribe_html

_CUE = re.compile(r"\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d\n(.+)")

STYLE = """
:root { color-scheme: light dark; --accent: #3f6f8f; }
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; }
header { display: flex; gap: 1rem; align-items: center; }
header img { width: 7rem; height: 7rem; border-radius: .5rem; }
h1 { font-size: 1.5rem; margin: 0; }
.safety { border-left: 4px solid #c08a2a; padding: .4rem .8rem; background: #c08a2a1a; }
article { border: 1px solid #8884; border-radius: .6rem; padding: .6rem 1rem; margin: 1rem 0; }
article h3 { margin: .2rem 0; }
.meta, .status { color: #777; font-size: .9rem; margin: .2rem 0; }
.status[data-state="ready"] { color: #2e7d32; }
.status[data-state="missing"] { color: #c62828; }
audio { width: 100%; }
ol.chapters { padding-left: 1.6rem; }
@media (min-width: 40rem) { ol.chapters { columns: 2; column-gap: 2rem; } }
ol.chapters button { font: inherit; border: 0; background: none; color: var(--accent);
  cursor: pointer; padding: 0; text-align: left; }
details p { margin: .3rem 0; }
.button { font: inherit; display: inline-block; padding: .3rem .8rem; border-radius: .4rem;
  border: 1px solid var(--accent); color: var(--accent); background: none; cursor: pointer;
  text-decoration: none; }
"""

SCRIPT = """
for (const article of document.querySelectorAll("article.episode")) {
  const audio = article.querySelector("audio");
  const status = article.querySelector(".status");
  const mark = (state, text) => { status.dataset.state = state; status.textContent = text; };
  audio.addEventListener("loadedmetadata", () => {
    const s = Math.round(audio.duration);
    mark("ready", `ready: ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`);
  });
  audio.addEventListener("error", () => mark("missing", "the MP3 could not be loaded"));
  if (audio.readyState >= 1) audio.dispatchEvent(new Event("loadedmetadata"));
  for (const button of article.querySelectorAll("button[data-start]")) {
    button.addEventListener("click", () => {
      audio.currentTime = Number(button.dataset.start);
      audio.play();
    });
  }
}
"""


def _clock(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def transcript_lines(vtt_text: str) -> list[str]:
    """The spoken lines of a pmr WebVTT file, unescaped."""
    return [html.unescape(line) for line in _CUE.findall(vtt_text)]


def feed_info(folder: Path) -> tuple[str | None, str | None]:
    """The channel title and cover file name of the folder's feed, if there is one."""
    path = folder / FEED_NAME
    if not path.is_file():
        return None, None
    try:
        channel = etree.parse(str(path)).find("channel")
    except etree.XMLSyntaxError:
        return None, None
    if channel is None:
        return None, None
    image = channel.findtext("image/url") or ""
    name = unquote(image.rsplit("/", 1)[-1]) if image else None
    return channel.findtext("title"), name if name and (folder / name).is_file() else None


def episode_html(entry: Entry, transcript: list[str]) -> str:
    esc = html.escape
    chapters = "".join(
        f'<li><button type="button" data-start="{c.start_s:g}">{_clock(c.start_s)} '
        f"{esc(c.title)}</button></li>"
        for c in entry.chapters
    )
    lines = "".join(f"<p>{esc(line)}</p>" for line in transcript)
    date = entry.pub_date.strftime("%-d %b %Y")
    size_mb = entry.size_bytes / 1e6
    return f"""
<article class="episode" data-file="{esc(entry.file)}">
  <h3>{esc(entry.title)}</h3>
  <p class="meta">{_clock(entry.duration_s)} · {esc(date)} · {size_mb:.1f} MB ·
    <a href="{esc(quote(entry.vtt))}">transcript</a></p>
  <p><a class="button download" href="{esc(quote(entry.file))}"
    download="{esc(entry.file)}">Download MP3</a></p>
  {f"<p>{esc(entry.description)}</p>" if entry.description else ""}
  <audio controls preload="metadata" src="{esc(quote(entry.file))}">
    <track kind="captions" src="{esc(quote(entry.vtt))}" srclang="{esc(entry.language)}"
      label="Transcript" default>
  </audio>
  <p class="status" data-state="loading">loading…</p>
  <ol class="chapters">{chapters}</ol>
  <details><summary>Transcript</summary>{lines}</details>
</article>"""


def index_html(
    has: Callable[[str], bool],
    entries: tuple[Entry, ...],
    title: str,
    transcripts: dict[str, list[str]],
    cover: str | None,
    feed_url: str | None = None,
) -> str:
    """The whole page (pure given its inputs; `has(name)` says which linked files exist).
    With `feed_url` (the feed's absolute address), the page gets a subscribe section."""
    esc = html.escape
    has_feed = has(FEED_NAME)
    links = [f'<a href="{FEED_NAME}">Podcast feed (RSS)</a>'] if has_feed else []
    sections = []
    all_series = list(dict.fromkeys(e.series for e in entries))
    for series in all_series:
        mine = [e for e in entries if e.series == series]
        playlist = playlist_name(series)
        if has(playlist):
            links.append(f'<a href="{esc(quote(playlist))}">Playlist: {esc(series)}</a>')
        items = "".join(episode_html(e, transcripts[e.file]) for e in mine)
        heading = f"<h2>{esc(series)}</h2>" if len(all_series) > 1 or series != title else ""
        sections.append(f"<section>{heading}{items}</section>")
    feed_link = (
        f'<link rel="alternate" type="application/rss+xml" href="{FEED_NAME}" title="{esc(title)}">'
        if has_feed
        else ""
    )
    image = f'<img src="{esc(quote(cover))}" alt="">' if cover else ""
    return f"""<!doctype html>
<html lang="{esc(entries[0].language)}">
<head>
<meta charset="utf-8">
<meta name="generator" content="{esc(mark())}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{feed_link}
<style>{STYLE}{SUBSCRIBE_STYLE if feed_url else ""}</style>
</head>
<body>
<header>{image}<div><h1>{esc(title)}</h1>
<p>{len(entries)} sessions · {" · ".join(links)}</p></div></header>
<p class="safety">{esc(SAFETY_NOTE)}</p>
{subscribe_html(feed_url) if feed_url else ""}
<main>{"".join(sections)}</main>
<script>{SCRIPT}{SUBSCRIBE_SCRIPT if feed_url else ""}</script>
</body>
</html>
"""


def folder_page(
    folder: Path,
    entries: tuple[Entry, ...],
    title: str,
    cover: str | None,
    has: Callable[[str], bool],
    feed_url: str | None = None,
) -> str:
    """The page for `folder`'s sessions, their transcripts read from their WebVTT files."""
    transcripts = {
        e.file: transcript_lines((folder / e.vtt).read_text(encoding="utf-8")) for e in entries
    }
    return index_html(has, entries, title, transcripts, cover, feed_url)


def write_index(folder: Path, title: str | None = None) -> Path:
    """Write `index.html` into the folder (atomically)."""
    entries = load_entries(folder)
    channel_title, cover = feed_info(folder)
    if cover is None:
        cover = next((n for n in ("cover.png", "cover.jpg") if (folder / n).is_file()), None)
    title = title or channel_title or entries[0].series
    page = folder_page(folder, entries, title, cover, lambda name: (folder / name).is_file())
    return write_atomic(folder / INDEX_NAME, page, error=PublishError)
