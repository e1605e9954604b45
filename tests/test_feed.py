"""The podcast feed, parsed back with lxml (XPath on every required element) and feedparser."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from pipeline.errors import PublishError
from pipeline.publish.feed import (
    ChapterMark,
    Entry,
    FeedOptions,
    describe,
    feed_xml,
    load_entries,
    playlist,
    podcast_guid,
)
from pipeline.publish.program import SCHEDULE, schedule
from pipeline.template import builtin_routines
from pipeline.tuning import SAFETY_NOTE

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
}
NASTY = "Evening <script>alert(1)</script> <b>PMR</b> & \"rest\" 'n' relax"


def _entry(number: int, title: str = "Week") -> Entry:
    return Entry(
        file=f"0{number} {title} {number}.mp3",
        title=f"{title} {number} <&>",
        series=NASTY,
        description=f"Practise & breathe <{number}>",
        language="en",
        pub_date=datetime(2026, 12, 7, 6, tzinfo=UTC) + timedelta(weeks=number - 1),
        duration_s=600.4 + number,
        size_bytes=9_600_000 + number,
        track=number,
        vtt=f"e{number}.vtt",
        srt=f"e{number}.srt",
        chapters_file=f"e{number}.chapters.json",
        chapters=(ChapterMark(0.0, "Welcome"), ChapterMark(65.2, "Left hand & arm")),
    )


@pytest.fixture(scope="module")
def rss() -> bytes:
    options = FeedOptions(
        title=NASTY, author="Sam & <Co>", base_url="https://example.org/pmr", description=NASTY
    )
    return feed_xml((_entry(1), _entry(2)), options, "cover.png")


def _one(tree: etree._Element, path: str) -> etree._Element | str:
    found = tree.xpath(path, namespaces=NS)
    assert len(found) == 1, path
    return found[0]


def test_channel_has_every_required_element(rss: bytes) -> None:
    tree = etree.fromstring(rss)
    assert tree.tag == "rss" and tree.get("version") == "2.0"
    ch = "/rss/channel"
    assert _one(tree, f"{ch}/title/text()") == NASTY
    assert SAFETY_NOTE in _one(tree, f"{ch}/description/text()")
    assert _one(tree, f"{ch}/language/text()") == "en"
    assert _one(tree, f"{ch}/link/text()") == "https://example.org/pmr/index.html"
    assert _one(tree, f"{ch}/atom:link[@rel='self']/@href") == "https://example.org/pmr/feed.xml"
    assert _one(tree, f"{ch}/itunes:image/@href") == "https://example.org/pmr/cover.png"
    assert _one(tree, f"{ch}/itunes:author/text()") == "Sam & <Co>"
    top = _one(tree, f"{ch}/itunes:category[@text='Health & Fitness']")
    assert _one(top, "itunes:category/@text") == "Mental Health"
    assert _one(tree, f"{ch}/itunes:explicit/text()") == "false"
    # podcast:guid is UUIDv5(ead4c236-..., "example.org/pmr/feed.xml"), per Podcasting 2.0
    assert _one(tree, f"{ch}/podcast:guid/text()") == podcast_guid(
        "https://example.org/pmr/feed.xml"
    )


def test_podcast_guid_matches_the_specs_own_example() -> None:
    # https://podcastindex.org/namespace/1.0#guid gives this pair.
    assert podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml") == (
        "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    )
    assert podcast_guid("http://mp3s.nashownotes.com/pc20rss.xml/") == (
        "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    )


def test_items_have_every_required_element(rss: bytes) -> None:
    tree = etree.fromstring(rss)
    items = tree.xpath("/rss/channel/item")
    assert len(items) == 2
    # newest first, as podcast apps expect
    dates = [parsedate_to_datetime(_one(i, "pubDate/text()")) for i in items]
    assert dates == [datetime(2026, 12, 14, 6, tzinfo=UTC), datetime(2026, 12, 7, 6, tzinfo=UTC)]
    for item, number in zip(items, (2, 1), strict=True):
        entry = _entry(number)
        assert _one(item, "title/text()") == entry.title
        guid = _one(item, "guid")
        assert guid.get("isPermaLink") == "false" and guid.text == entry.guid
        enclosure = _one(item, "enclosure")
        assert enclosure.get("url") == f"https://example.org/pmr/0{number}%20Week%20{number}.mp3"
        assert enclosure.get("length") == str(entry.size_bytes)
        assert enclosure.get("type") == "audio/mpeg"
        assert _one(item, "itunes:duration/text()") == str(600 + number)  # whole seconds
        vtt = _one(item, "podcast:transcript[@type='text/vtt']")
        assert vtt.get("url") == f"https://example.org/pmr/e{number}.vtt"
        assert vtt.get("language") == "en"
        srt = _one(item, "podcast:transcript[@type='application/x-subrip']")
        assert srt.get("url").endswith(f"e{number}.srt")
        chapters = _one(item, "podcast:chapters")
        assert chapters.get("type") == "application/json+chapters"
        assert chapters.get("url") == f"https://example.org/pmr/e{number}.chapters.json"
        description = _one(item, "description/text()")
        assert SAFETY_NOTE in description and "0:01:05 Left hand & arm" in description
        assert f"Practise & breathe <{number}>" in description


def test_guids_are_stable_and_distinct() -> None:
    assert _entry(1).guid == _entry(1).guid != _entry(2).guid
    moved = FeedOptions(title="t", author="a", base_url="http://192.168.1.5:8000/")
    tree = etree.fromstring(feed_xml((_entry(1),), moved, "cover.png"))
    assert _one(tree, "//item/guid/text()") == _entry(1).guid  # a new host keeps episode ids


def test_user_text_stays_escaped_and_feedparser_reads_it_back(rss: bytes) -> None:
    text = rss.decode()
    assert "<b>PMR</b>" not in text and "&lt;b&gt;PMR&lt;/b&gt;" in text
    assert "<script>" not in text and "&lt;script&gt;alert(1)" in text
    assert "Sam &amp; &lt;Co&gt;" in text
    parsed = feedparser.parse(rss)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert len(parsed.entries) == 2
    first = parsed.entries[0]
    assert first.title == "Week 2 <&>"
    assert first.enclosures[0].href.endswith("02%20Week%202.mp3")
    assert first.enclosures[0].length == str(_entry(2).size_bytes)
    assert first.itunes_duration == "602"
    assert parsed.feed.language == "en"
    assert parsed.feed.title == NASTY
    assert parsed.feed.podcast_guid == podcast_guid("https://example.org/pmr/feed.xml")


def test_bad_base_url_is_a_user_error() -> None:
    for url in ("example.org/pmr", "ftp://example.org/", "https://example.org/?a=1"):
        with pytest.raises(PublishError, match="--base-url"):
            feed_xml((_entry(1),), FeedOptions(title="t", author="a", base_url=url), "c.png")


def test_show_notes_always_carry_the_safety_note() -> None:
    bare = Entry(**{**_entry(1).__dict__, "description": "", "chapters": ()})
    assert describe(bare) == SAFETY_NOTE


def test_playlist_is_extended_m3u_in_listening_order() -> None:
    text = playlist((_entry(1), _entry(2)))
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[1] == f"#EXTINF:601,{NASTY} - Week 1 <&>"
    assert lines[2] == "01 Week 1.mp3" and lines[4] == "02 Week 2.mp3"


def test_loading_a_folder_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="no sessions found"):
        load_entries(tmp_path)
    with pytest.raises(PublishError, match="no such folder"):
        load_entries(tmp_path / "nope")
    (tmp_path / "a.manifest.json").write_text("{not json")
    with pytest.raises(PublishError, match=r"a\.manifest\.json: can't read"):
        load_entries(tmp_path)
    (tmp_path / "a.manifest.json").write_text(json.dumps({"file": "a.mp3"}))
    with pytest.raises(PublishError, match="not a pmr manifest entry"):
        load_entries(tmp_path)


def test_plan_follows_the_practice_advice() -> None:
    start = datetime(2026, 12, 7, tzinfo=UTC).date()
    episodes = schedule(6, start, ("full",))
    assert [e.week for e in episodes] == [1, 2, 3, 4, 5, 6]
    assert ["twice a day" in e.title for e in episodes] == [True, True, False, False, False, False]
    assert "once a day" in episodes[2].title
    assert all("three or four times a week" in e.title for e in episodes[3:])
    assert [e.pub_date.date() - start for e in episodes] == [timedelta(weeks=w) for w in range(6)]
    # only `full` exists: learn and short fall back to it, at lengths `full` can reach
    assert {e.routine for e in episodes} == {"full"}
    assert episodes[0].routine_wanted == "learn" and episodes[3].routine_wanted == "short"
    assert all(e.minutes >= 10 for e in episodes)
    # with the new routines present they are used, learn first then full then short
    more = schedule(4, start, ("full", "learn", "quick"))
    assert [e.routine for e in more] == ["learn", "full", "full", "quick"]
    assert [p.key for p in SCHEDULE] == ["learn", "full", "daily", "short"]
    # and the routines pmr ships today are the ones the plan wants
    shipped = schedule(4, start, tuple(builtin_routines()))
    assert [(e.routine, e.minutes) for e in shipped] == [
        ("learn", 20), ("full", 15), ("full", 12), ("short", 8),
    ]  # fmt: skip


@pytest.mark.parametrize("weeks", [0, -1, 53])
def test_plan_length_is_bounded(weeks: int) -> None:
    with pytest.raises(PublishError, match="--weeks"):
        schedule(weeks, datetime.now(UTC).date(), ("full",))
