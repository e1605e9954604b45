"""`pmr serve --share` on loopback (`--host 127.0.0.1`, as every test here): a real HTTP client
gets nothing without the token, and with it the folder's sessions, byte ranges, and a feed,
index page and playlists made for the address served at; the podcast:guid stays the same
across addresses; the index page's subscribe section is checked in headless Chromium."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from lxml import etree
from PIL import Image
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.publish.share.gate import GateRules
from pipeline.publish.share.server import make_share_server

from .conftest import SHORT_ROUTINE, foreground
from .test_program import _chromium, _run_chromium
from .test_share_parts import _picture, zbar

runner = CliRunner()
SERIES = "Evening & <rest>"
PODCAST = "https://podcastindex.org/namespace/1.0"
UNPREFIXED = ("/", "/index.html", "/feed.xml", "/first.mp3", "/first.manifest.json",
              "/.pmr-share-token", "/favicon.ico")  # fmt: skip
OUT_OF_BOUNDS = ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/outside.txt",
                 "/.pmr-share-token", "/%2epmr-share-token", "/.pmr-podcast-guid",
                 "/%5c..%5csecret.txt", "/first.mp3%00", "//etc/passwd", "/sub/../../secret.txt",
                 "/.first.mp3.pmr.json")  # fmt: skip
FAST = GateRules(free_failures=2, first_delay_s=0.3, max_delay_s=0.6)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, module_cache: Path) -> Path:
    """Two built sessions, no feed or index page yet; a secret beside the folder."""
    top = tmp_path_factory.mktemp("share")
    (top / "secret.txt").write_text("outside the shared folder")
    routine = top / "mini.toml"
    routine.write_text(SHORT_ROUTINE)
    site = top / "site"
    site.mkdir()
    for name, minutes in (("first", "1.1"), ("second", "1.2")):
        args = [
            "build", str(routine), "--minutes", minutes, "--background", "none", "--series",
            SERIES, "--out", str(site / f"{name}.mp3"), "--cache-dir", str(module_cache),
        ]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    (site / "outside.txt").symlink_to(top / "secret.txt")
    return site


@contextlib.contextmanager
def sharing(folder: Path, host: str = "127.0.0.1", **options):
    server = make_share_server(folder, host, 0, quiet=True, rules=FAST, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.share
    finally:
        server.shutdown()
        server.server_close()


def get(url: str, path: str | None = None, method: str = "GET", headers: dict | None = None):
    """(status, headers, body) for a raw request path, as sent (no client-side clean-up)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path if path is not None else parts.path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_nothing_is_served_without_the_token(folder: Path) -> None:
    with sharing(folder) as share:
        token = share.token
        prefix = f"/{token}"
        assert share.base_url == f"http://127.0.0.1:{urlsplit(share.base_url).port}{prefix}/"
        wrong = [f"/{token[:-1]}/feed.xml", f"/{token}x/feed.xml", f"/x{token}/feed.xml",
                 f"/{token.lower()}/feed.xml", f"/first.mp3/{token}/"]  # fmt: skip
        for path in [*UNPREFIXED, *wrong]:
            status, _, body = get(share.base_url, path)
            assert status == 404, path
            assert token.encode() not in body
        status, headers, body = get(share.base_url, prefix + "/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert headers["Referrer-Policy"] == "no-referrer"
        status, headers, _ = get(share.base_url, prefix)
        assert status == 301 and headers["Location"] == prefix + "/"
        assert get(share.base_url, prefix + "/first.mp3")[0] == 200
        assert get(share.base_url, prefix + "/first.mp3", method="POST")[0] == 501


def test_ranges_and_confinement_hold_under_the_token(folder: Path) -> None:
    mp3 = (folder / "first.mp3").read_bytes()
    with sharing(folder) as share:
        prefix = f"/{share.token}"
        status, headers, body = get(
            share.base_url, prefix + "/first.mp3", headers={"Range": "bytes=100-1099"}
        )
        assert status == 206 and body == mp3[100:1100]
        assert headers["Content-Range"] == f"bytes 100-1099/{len(mp3)}"
        status, _, body = get(
            share.base_url, prefix + "/first.mp3", headers={"Range": "bytes=-500"}
        )
        assert status == 206 and body == mp3[-500:]
        status, headers, _ = get(
            share.base_url, prefix + "/first.mp3", headers={"Range": f"bytes={len(mp3)}-"}
        )
        assert status == 416 and headers["Content-Range"] == f"bytes */{len(mp3)}"
        status, headers, body = get(
            share.base_url, prefix + "/feed.xml", headers={"Range": "bytes=0-4"}
        )
        assert status == 206 and body == b"<?xml"  # generated documents have ranges too
        for path in OUT_OF_BOUNDS:
            assert get(share.base_url, prefix + path)[0] == 404, path


def test_served_feed_is_made_for_the_share_base(folder: Path) -> None:
    with sharing(folder) as share:
        base = share.base_url
        status, headers, xml = get(share.feed_url)
        assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
        feed = feedparser.parse(xml)
        assert not feed.bozo, feed.bozo_exception
        assert feed.feed.title == SERIES and feed.feed.author_detail.name == "pmr"  # defaults
        assert feed.feed.image.href == base + "cover.png"
        assert len(feed.entries) == 2
        tree = etree.fromstring(xml)
        urls = [e.get("url") for e in tree.iter("enclosure", f"{{{PODCAST}}}transcript",
                                                  f"{{{PODCAST}}}chapters")]  # fmt: skip
        urls += [feed.feed.image.href, *(link.href for link in feed.feed.links)]
        assert len(urls) == 2 * 4 + 3
        for url in urls:
            assert url.startswith(base), url
            status, _, body = get(url)
            assert status == 200 and body, url
        status, headers, cover = get(base + "cover.png")
        assert cover[:8] == b"\x89PNG\r\n\x1a\n"
        page = get(base)[2].decode()
        (href,) = re.findall(r'href="([^"]+\.m3u8)"', page)  # the page links the playlist
        playlist = get(base + href)
        assert playlist[0] == 200, playlist
        lines = playlist[2].decode().splitlines()
        assert lines[0] == "#EXTM3U" and [x for x in lines if not x.startswith("#")] == [
            base + "first.mp3",
            base + "second.mp3",
        ]
    # serving wrote nothing but its own two hidden files
    assert sorted(
        p.name for p in folder.iterdir() if not p.name.endswith((".mp3", ".json", ".vtt", ".srt"))
    ) == [".pmr-podcast-guid", ".pmr-share-token", "outside.txt"]


def _guid(xml: bytes) -> str:
    return etree.fromstring(xml).findtext(f"channel/{{{PODCAST}}}guid")


def test_podcast_guid_stays_the_same_across_addresses_and_tokens(folder: Path) -> None:
    with sharing(folder, "127.0.0.1") as one:
        first = get(one.feed_url)[2]
    with sharing(folder, "127.0.0.2", rotate=True) as two:
        second = get(two.feed_url)[2]
        assert get(two.base_url, f"/{one.token}/feed.xml")[0] == 404  # the old link is cut off
    assert urlsplit(one.base_url).hostname != urlsplit(two.base_url).hostname
    assert one.token != two.token
    assert _guid(first) == _guid(second) == (folder / ".pmr-podcast-guid").read_text().strip()
    # `pmr feed` for a public address keeps it too, and sharing then takes the feed's own text
    args = ["feed", str(folder), "--title", "My <evenings>", "--author", "Sam & Co",
            "--base-url", "https://example.org/pmr/", "--description", "Calm."]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    public = (folder / "feed.xml").read_bytes()
    assert _guid(public) == _guid(first)
    try:
        with sharing(folder, "127.0.0.3") as three:
            feed = feedparser.parse(get(three.feed_url)[2])
            assert feed.feed.title == "My <evenings>" and feed.feed.author == "Sam & Co"
            assert feed.feed.subtitle.startswith("Calm.\n\n")  # the safety note follows, once
            assert feed.feed.subtitle.count("Calm.") == 1
            assert all(e.enclosures[0].href.startswith(three.base_url) for e in feed.entries)
            assert _guid(get(three.feed_url)[2]) == _guid(first)
    finally:
        for path in [folder / "feed.xml", folder / "cover.png", *folder.glob("*.m3u8")]:
            path.unlink()


def test_a_podcast_client_gets_every_episode_byte_for_byte(folder: Path) -> None:
    """As a podcast app does: the feed, then each enclosure in 64 KiB ranges."""
    with sharing(folder) as share:
        feed = feedparser.parse(get(share.feed_url)[2])
        for entry in feed.entries:
            enclosure = entry.enclosures[0]
            size = int(enclosure.length)
            chunks = []
            for start in range(0, size, 1 << 16):
                end = min(size, start + (1 << 16)) - 1
                status, _, body = get(enclosure.href, headers={"Range": f"bytes={start}-{end}"})
                assert status == 206
                chunks.append(body)
            data = b"".join(chunks)
            name = unquote(urlsplit(enclosure.href).path.rsplit("/", 1)[1])
            manifest = json.loads((folder / name.replace(".mp3", ".manifest.json")).read_text())
            assert len(data) == size == manifest["size_bytes"]
            assert hashlib.sha256(data).hexdigest() == manifest["sha256"]


def test_wrong_tokens_are_slowed_down(folder: Path) -> None:
    with sharing(folder) as share:
        waits = []
        for _ in range(FAST.free_failures + 2):
            start = time.monotonic()
            assert get(share.base_url, "/0123456789abcdefghijkl/feed.xml")[0] == 404
            waits.append(time.monotonic() - start)
        assert waits[-2] >= FAST.first_delay_s and waits[-1] >= FAST.max_delay_s
        assert get(share.feed_url)[0] == 200  # the right token still gets in


@pytest.mark.skipif(
    _chromium() is None,
    reason="no chromium on PATH: `make test` installs Debian's chromium package when run as "
    "root; install it (apt-get install chromium) to run this browser test",
)
def test_index_page_shows_the_subscribe_section_in_chromium(folder: Path, tmp_path: Path) -> None:
    with sharing(folder) as share:
        dom = _run_chromium("--dump-dom", share.base_url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        page = dom.stdout
        (section,) = re.findall(r'<section class="subscribe".*?</section>', page, re.S)
        assert f'value="{share.feed_url}"' in section and 'id="copy-feed"' in section
        apps = re.findall(r'<a class="button" href="([^"]+)">([^<]+)</a>', section)
        assert (
            "antennapod-subscribe://" + share.feed_url.removeprefix("http://"),
            "AntennaPod",
        ) in apps
        assert len(apps) >= 6
        states = re.findall(r'class="status" data-state="(\w+)"', page)
        assert states == ["ready", "ready"]  # both players read their MP3 through the token
        downloads = re.findall(
            r'<a class="button download" href="([^"]+)"\s+download="([^"]+)"', page
        )
        assert downloads == [("first.mp3", "first.mp3"), ("second.mp3", "second.mp3")]
        assert re.search(r'<img src="cover.png"', page)
        shot = tmp_path / "share.png"
        run = _run_chromium("--window-size=420,900", f"--screenshot={shot}", share.base_url)
        assert run.returncode == 0, run.stderr[-2000:]
        with Image.open(shot) as image:
            assert len(image.convert("L").getcolors(maxcolors=1 << 16) or ()) > 20


def test_pmr_serve_share_prints_a_qr_code_that_opens_the_index_page(
    folder: Path, tmp_path: Path
) -> None:
    if shutil.which("zbarimg") is None:
        pytest.skip("no zbarimg on PATH: `make test` installs Debian's zbar-tools as root")
    picture = tmp_path / "share.png"
    command = [sys.executable, "-m", "pipeline", "serve", str(folder), "--share",
               "--host", "127.0.0.1", "--port", "0", "--qr", str(picture)]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=foreground
    ) as proc:
        lines = []
        while not lines or not lines[-1].startswith("Scan the code"):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line.rstrip("\n"))
        index_url = lines[0].removeprefix("index page: ")
        feed_url = lines[1].removeprefix("feed:       ")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]{22}/", index_url)
        assert feed_url == index_url + "feed.xml"
        code = "\n".join(lines[2:-2])  # not a terminal here: plain characters
        assert zbar(_picture(code, False, tmp_path / "terminal.png")) == index_url
        assert zbar(picture) == index_url
        status, _, page = get(index_url)
        assert status == 200 and b'id="subscribe"' in page
        assert get(index_url, "/feed.xml")[0] == 404
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        notice = proc.stderr.read()
    assert "read-only" in notice and "nothing is served without the secret" in notice
    assert "pmr: stopped" in notice


def test_share_mistakes_exit_2_and_write_nothing(folder: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"mine")
    serve = ["serve", str(folder), "--host", "127.0.0.1", "--port", "0"]
    cases = [
        ([*serve, "--new-token"], "--new-token goes with --share"),
        ([*serve, "--qr", str(tmp_path / "q.png")], "--qr goes with --share"),
        (["serve", str(empty), "--share", "--host", "127.0.0.1"], "no sessions found"),
        ([*serve, "--share", "--qr", str(taken)], "already exists"),
        ([*serve, "--share", "--qr", str(tmp_path / "q.jpg")], "ending in .png"),
        ([*serve, "--share", "--qr", str(tmp_path / "no" / "q.png")], "no such folder"),
        (["serve", str(folder), "--share", "--host", "127.0.0.1", "--port", "70000"],
         "--port 70000"),
        (["serve", str(tmp_path / "missing"), "--share"], "no such folder to serve"),
    ]  # fmt: skip
    token = (folder / ".pmr-share-token").read_text()
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, result.output
        assert result.output.count("pmr: error:") == 1
    assert taken.read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "taken.png"]
    assert [p.name for p in empty.iterdir()] == []
    assert (folder / ".pmr-share-token").read_text() == token
