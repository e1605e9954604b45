"""A 4-week program built offline, end to end: its feed fetched from `pmr serve` on loopback like
a podcast client would (feed, then byte ranges of an episode), chapters read by mutagen and
ffmpeg, an export to a "phone" folder, and the index page loaded in a real headless Chromium."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from mutagen.id3 import ID3
from PIL import Image
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.encode import ffmpeg_exe
from pipeline.publish.serve import byte_range, make_server
from pipeline.tuning import SAFETY_NOTE

from .conftest import SHORT_ROUTINE

runner = CliRunner()
SERIES = 'Evening <PMR> & "rest" <script>alert(1)</script>'
START = "2026-12-07"
NS = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, module_cache: Path):
    """The program folder, served on a free loopback port for the whole module."""
    top = tmp_path_factory.mktemp("program")
    (top / "secret.txt").write_text("outside the served folder")
    routine = top / "mini.toml"
    routine.write_text(SHORT_ROUTINE)
    folder = top / "site"
    folder.mkdir()
    server = make_server(folder, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    args = [
        "program", "--weeks", "4", "--routine", str(routine), "--minutes", "1.1",
        "--background", "none", "--out", str(folder), "--start", START, "--title", SERIES,
        "--author", "Sam & Co", "--base-url", base, "--cache-dir", str(module_cache),
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    yield folder, base
    server.shutdown()
    server.server_close()


def _get(base: str, path: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(base.rstrip("/") + path, headers=headers or {})
    return urllib.request.urlopen(request, timeout=30)  # loopback only


def test_program_follows_the_schedule(site) -> None:
    folder, _ = site
    mp3s = sorted(folder.glob("*.mp3"))
    assert [p.name[:2] for p in mp3s] == ["01", "02", "03", "04"]
    assert not any(set(p.name) & set(':?*"<>|') for p in folder.iterdir())
    tree = etree.parse(str(folder / "feed.xml"))
    assert tree.findtext("channel/itunes:type", namespaces=NS) == "serial"
    items = sorted(
        tree.findall("channel/item"), key=lambda i: parsedate_to_datetime(i.findtext("pubDate"))
    )
    first_day = datetime(2026, 12, 7, tzinfo=UTC)
    for week, item in enumerate(items, start=1):
        assert item.findtext("title").startswith(f"Week {week}: ")
        published = parsedate_to_datetime(item.findtext("pubDate"))
        assert published.date() == (first_day + timedelta(weeks=week - 1)).date()
        assert SAFETY_NOTE in item.findtext("description")
    titles = [i.findtext("title") for i in items]
    assert "twice a day" in titles[0] and "twice a day" in titles[1]
    assert "once a day" in titles[2] and "three or four times a week" in titles[3]
    for week, path in enumerate(mp3s, start=1):
        tags = ID3(path)
        assert str(tags["TRCK"]) == f"{week}/4" and str(tags["TALB"]) == SERIES
        assert len(tags.getall("CHAP")) == 3 and len(tags.getall("CTOC")) == 1
        entry = json.loads(path.with_suffix(".manifest.json").read_text())
        assert entry["program"]["week"] == week
        assert -40 < entry["loudness"]["integrated_lufs"] < -8  # measured for a series


def test_chapters_read_back_with_ffmpeg(site) -> None:
    folder, _ = site
    path = sorted(folder.glob("*.mp3"))[0]
    dump = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    starts = [int(s) / 1000 for s in re.findall(r"TIMEBASE=1/1000\nSTART=(\d+)", dump)]
    manifest = json.loads(path.with_suffix(".manifest.json").read_text())
    assert starts == pytest.approx([c["start_s"] for c in manifest["chapters"]], abs=0.05)


def test_a_podcast_client_can_subscribe_over_loopback(site) -> None:
    folder, base = site
    with _get(base, "/feed.xml") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/rss+xml")
        body = response.read()
    feed = feedparser.parse(body)
    assert not feed.bozo and len(feed.entries) == 4
    assert feed.feed.title == SERIES
    enclosure = feed.entries[-1].enclosures[0]
    assert enclosure.href.startswith(base)
    local = folder / urllib.parse.unquote(enclosure.href[len(base) :])
    data = local.read_bytes()
    assert int(enclosure.length) == len(data)
    # the first probe of a podcast app: a small range at the start
    with _get(base, enclosure.href[len(base) - 1 :], {"Range": "bytes=0-1023"}) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 0-1023/{len(data)}"
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.read() == data[:1024]
    # seeking: an open-ended range in the middle, and the last bytes
    middle = len(data) // 2
    with _get(base, enclosure.href[len(base) - 1 :], {"Range": f"bytes={middle}-"}) as response:
        assert response.status == 206 and response.read() == data[middle:]
    with _get(base, enclosure.href[len(base) - 1 :], {"Range": "bytes=-500"}) as response:
        assert response.status == 206 and response.read() == data[-500:]
    with _get(base, enclosure.href[len(base) - 1 :]) as response:
        assert response.status == 200
        assert hashlib.sha256(response.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    # transcript and chapters that the feed points to are served too
    item = etree.fromstring(body).find("channel/item")
    ns = "{https://podcastindex.org/namespace/1.0}"
    with _get(base, item.find(f"{ns}chapters").get("url")[len(base) - 1 :]) as response:
        assert json.loads(response.read())["version"] == "1.2.0"
    with _get(base, item.find(f"{ns}transcript").get("url")[len(base) - 1 :]) as response:
        assert response.headers["Content-Type"].startswith("text/vtt")
        assert response.read().startswith(b"WEBVTT")


def _raw(base: str, method: str, path: str, headers: dict[str, str] | None = None):
    host, port = base.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(method, path, headers=headers or {})  # sent exactly as written
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/cover.png/../../secret.txt",
        "/x/..%5c..%5csecret.txt",
        "//../secret.txt",
        "/%252e%252e/secret.txt",
        "/cover.png%00.txt",
        "/outside-link",
        "/nosuch.mp3",
    ],
)
def test_serve_stays_inside_its_folder(site, path: str) -> None:
    folder, base = site
    link = folder / "outside-link"
    if not link.is_symlink():
        link.symlink_to(folder.parent / "secret.txt")
    response, body = _raw(base, "GET", path)
    assert response.status == 404, path
    assert b"outside the served folder" not in body


def test_serve_ranges_edge_cases_on_the_wire(site) -> None:
    folder, base = site
    size = (folder / "feed.xml").stat().st_size
    response, body = _raw(base, "GET", "/feed.xml", {"Range": f"bytes={size}-"})
    assert response.status == 416 and response.getheader("Content-Range") == f"bytes */{size}"
    response, body = _raw(base, "GET", "/feed.xml", {"Range": "bytes=5-2"})
    assert response.status == 200 and len(body) == size  # malformed: the whole file
    response, body = _raw(base, "HEAD", "/feed.xml")
    assert response.status == 200 and body == b""
    assert response.getheader("Content-Length") == str(size)
    (folder / "index.html").unlink(missing_ok=True)
    response, body = _raw(base, "GET", "/")
    assert response.status == 404 and b"feed.xml" not in body  # never a listing
    assert runner.invoke(app, ["index", str(folder)]).exit_code == 0
    response, body = _raw(base, "GET", "/")
    assert response.status == 200 and body.startswith(b"<!doctype html>")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=900-", (900, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=1000-", "unsatisfiable"),
        ("bytes=-0", "unsatisfiable"),
        ("bytes=0-1,5-9", None),
        ("items=0-9", None),
        ("bytes=-", None),
    ],
)
def test_byte_range_rules(header: str | None, expected) -> None:
    assert byte_range(header, 1000) == expected


def test_export_to_a_phone_folder(site, tmp_path: Path) -> None:
    folder, _ = site
    phone = tmp_path / "phone"
    phone.mkdir()
    result = runner.invoke(app, ["export", str(phone), "--from", str(folder)])
    assert result.exit_code == 0, result.output
    assert "4 copied, 0 unchanged" in result.output
    (series_dir,) = phone.iterdir()
    assert not set(series_dir.name) & set(':?*"<>|')
    (playlist,) = series_dir.glob("*.m3u8")
    lines = playlist.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    listed = [line for line in lines if not line.startswith("#")]
    assert len(listed) == 4 and all((series_dir / name).is_file() for name in listed)
    for name in listed:
        copied = (series_dir / name).read_bytes()
        assert copied == (folder / name).read_bytes()
        umask = os.umask(0)
        os.umask(umask)
        assert (series_dir / name).stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    assert [p.name for p in series_dir.iterdir() if p.name.startswith(".")] == []
    again = runner.invoke(app, ["export", str(phone), "--from", str(folder)])
    assert "0 copied, 4 unchanged" in again.output
    wrong = runner.invoke(app, ["export", str(phone), "--from", str(folder), "--series", "Evning"])
    assert wrong.exit_code == 2 and "--series 'Evning'" in wrong.output


def _chromium() -> str | None:
    return next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=10000",
]  # fmt: skip


def _run_chromium(*args: str) -> subprocess.CompletedProcess[str]:
    exe = _chromium()
    assert exe is not None
    with tempfile.TemporaryDirectory(prefix="pmr-chromium-") as profile:
        return subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip


def test_index_page_escapes_user_text(site) -> None:
    folder, _ = site
    result = runner.invoke(app, ["index", str(folder)])
    assert result.exit_code == 0, result.output
    page = (folder / "index.html").read_text()
    assert "Evening &lt;PMR&gt; &amp; &quot;rest&quot; &lt;script&gt;alert(1)" in page
    assert "<PMR>" not in page and "<script>alert(1)" not in page
    assert page.count("<audio ") == 4 and 'href="feed.xml"' in page
    assert "Clench your left hand into a fist. Hold." in page  # the transcript


@pytest.mark.skipif(
    _chromium() is None,
    reason="no chromium on PATH: `make test` installs Debian's chromium package when run as "
    "root; install it (apt-get install chromium) to run this browser test",
)
def test_index_page_in_headless_chromium(site, tmp_path: Path) -> None:
    folder, base = site
    assert runner.invoke(app, ["index", str(folder)]).exit_code == 0
    dom = _run_chromium("--dump-dom", base + "index.html")
    assert dom.returncode == 0, dom.stderr[-2000:]
    states = re.findall(r'class="status" data-state="(\w+)">([^<]*)<', dom.stdout)
    assert len(states) == 4
    assert all(state == "ready" for state, _ in states), states  # every player read its MP3
    assert all(text == "ready: 1:06" for _, text in states), states
    sources = re.findall(r'<audio [^>]*src="([^"]+)"', dom.stdout)
    assert len(sources) == 4
    assert all((folder / urllib.parse.unquote(src)).is_file() for src in sources)
    # the check can fail: a page with one broken player says so
    page = (folder / "index.html").read_text()
    (folder / "broken.html").write_text(page.replace(f'src="{sources[0]}"', 'src="nosuch.mp3"', 1))
    broken = _run_chromium("--dump-dom", base + "broken.html")
    (folder / "broken.html").unlink()
    states = re.findall(r'class="status" data-state="(\w+)"', broken.stdout)
    assert sorted(states) == ["missing", "ready", "ready", "ready"], states
    shot = tmp_path / "index.png"
    run = _run_chromium(
        "--window-size=900,1400", "--hide-scrollbars", f"--screenshot={shot}", base + "index.html"
    )
    assert run.returncode == 0, run.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (900, 1400)
        assert len(image.convert("L").getcolors(maxcolors=1 << 16) or ()) > 20  # not blank


def test_user_mistakes_exit_2(tmp_path: Path) -> None:
    cases = [
        (["feed", str(tmp_path), "--title", "t", "--author", "a", "--base-url", "http://x/"],
         "no sessions found"),
        (["program", "--weeks", "0", "--out", str(tmp_path / "p")], "--weeks 0"),
        (["program", "--out", str(tmp_path / "p"), "--base-url", "nope"], "--base-url 'nope'"),
        (["program", "--out", str(tmp_path / "p"), "--start", "7/12/2026"], "--start '7/12/2026'"),
        (["serve", str(tmp_path / "missing")], "no such folder to serve"),
        (["index", str(tmp_path)], "no sessions found"),
        (["export", str(tmp_path / "none"), "--from", str(tmp_path)], "no such folder"),
        (["build", "--cover", str(tmp_path / "none.png"), "--out", str(tmp_path / "x.mp3")],
         "no such cover image"),
    ]  # fmt: skip
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


REQUIRED_CHANNEL = [
    "title", "description", "language", "link", "itunes:image/@href", "itunes:author",
    "itunes:category[@text='Health & Fitness']/itunes:category[@text='Mental Health']",
    "itunes:explicit[text()='false']", "podcast:guid", "atom:link[@rel='self']/@href",
]  # fmt: skip
REQUIRED_ITEM = [
    "title", "guid[@isPermaLink='false']", "pubDate", "enclosure[@type='audio/mpeg']/@url",
    "enclosure/@length", "itunes:duration", "description",
    "podcast:transcript[@type='text/vtt']/@url",
    "podcast:transcript[@type='application/x-subrip']/@url",
    "podcast:chapters[@type='application/json+chapters']/@url",
]  # fmt: skip
FEED_NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
}


def test_pmr_feed_with_a_given_image_has_every_required_element(site, tmp_path: Path) -> None:
    folder, base = site
    image = tmp_path / "art.jpg"
    Image.new("RGB", (1400, 1400), (30, 70, 110)).save(image, "JPEG")
    args = ["feed", str(folder), "--title", SERIES, "--author", "Sam & Co", "--base-url", base,
            "--image", str(image)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (folder / "cover.jpg").read_bytes() == image.read_bytes()
    tree = etree.parse(str(folder / "feed.xml"))
    (channel,) = tree.xpath("/rss[@version='2.0']/channel")
    for path in REQUIRED_CHANNEL:
        assert channel.xpath(path, namespaces=FEED_NS), path
    assert channel.xpath("itunes:image/@href", namespaces=FEED_NS) == [base + "cover.jpg"]
    items = channel.xpath("item")
    assert len(items) == 4
    for item in items:
        for path in REQUIRED_ITEM:
            assert item.xpath(path, namespaces=FEED_NS), path
        for url in item.xpath("enclosure/@url | podcast:*/@url", namespaces=FEED_NS):
            assert (folder / urllib.parse.unquote(url[len(base) :])).is_file(), url
    assert len({i.findtext("guid") for i in items}) == 4
    assert runner.invoke(app, ["index", str(folder)]).exit_code == 0
    assert '<img src="cover.jpg"' in (folder / "index.html").read_text()
