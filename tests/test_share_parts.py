"""`pmr serve --share`, part by part: the token and guid kept in the folder, the gate that
slows down guessing, the QR code read back by zbar (Debian's zbar-tools) from the very
characters the terminal shows, and the podcast app links."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from pipeline.errors import PublishError
from pipeline.publish.share.gate import Gate, GateRules, delay_after
from pipeline.publish.share.qr import png_bytes, terminal_text
from pipeline.publish.share.store import GUID_NAME, TOKEN_NAME, kept_guid, share_token
from pipeline.publish.share.subscribe import app_links, subscribe_html

URL = "http://192.168.1.20:8000/Zq3-x_8kP0aLm2NvB7cD9e/"


def test_token_is_made_once_kept_private_and_rotated_on_request(tmp_path: Path) -> None:
    token = share_token(tmp_path)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
    assert share_token(tmp_path) == token  # phones stay subscribed across restarts
    path = tmp_path / TOKEN_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rotated = share_token(tmp_path, rotate=True)
    assert rotated != token and share_token(tmp_path) == rotated
    assert len({share_token(tmp_path / "..", rotate=True) for _ in range(20)}) == 20


def test_a_damaged_token_file_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / TOKEN_NAME).write_text("short\n")
    with pytest.raises(
        PublishError, match=r"\.pmr-share-token: not a pmr share token.*--new-token"
    ):
        share_token(tmp_path)
    assert len(share_token(tmp_path, rotate=True)) == 22


def test_guid_is_made_once_then_read_back(tmp_path: Path) -> None:
    made = []

    def make() -> str:
        made.append(1)
        return "917393e3-1b1e-5cef-ace4-edaa54e1f810"

    assert kept_guid(tmp_path, make) == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert kept_guid(tmp_path, lambda: "00000000-0000-0000-0000-000000000000") == (
        "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    )
    assert made == [1]
    (tmp_path / GUID_NAME).write_text("not a uuid\n")
    with pytest.raises(PublishError, match=r"\.pmr-podcast-guid: not a UUID"):
        kept_guid(tmp_path, make)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_gate_lets_the_token_in_and_slows_down_guessing() -> None:
    clock = Clock()
    rules = GateRules(free_failures=3, first_delay_s=0.5, max_delay_s=4, forget_after_s=60)
    gate = Gate("Zq3-x_8kP0aLm2NvB7cD9e", rules, clock)
    assert gate.check("10.0.0.2", "/Zq3-x_8kP0aLm2NvB7cD9e/feed.xml").rest == "/feed.xml"
    assert gate.check("10.0.0.2", "/Zq3-x_8kP0aLm2NvB7cD9e/").rest == "/"
    assert gate.check("10.0.0.2", "/Zq3-x_8kP0aLm2NvB7cD9e").rest == ""
    delays = [gate.check("10.0.0.3", f"/guess{i}/feed.xml").delay_s for i in range(8)]
    assert delays == [0, 0, 0, 0.5, 1, 2, 4, 4]
    assert gate.check("10.0.0.3", "/Zq3-x_8kP0aLm2NvB7cD9e/x").delay_s == 0  # never the right one
    assert gate.check("10.0.0.4", "/nope/").delay_s == 0  # per address
    for path in ("/Zq3-x_8kP0aLm2NvB7cD9", "/Zq3-x_8kP0aLm2NvB7cD9eX/", "/", "//x", "/%5A"):
        assert gate.check("10.0.0.5", path).rest is None, path
    assert gate.failures("10.0.0.5") == 5
    clock.now += 61
    assert gate.failures("10.0.0.3") == 0
    assert gate.check("10.0.0.3", "/guess/").delay_s == 0  # forgotten after a quiet spell


def test_gate_ignores_what_browsers_ask_for_and_stays_bounded() -> None:
    gate = Gate("Zq3-x_8kP0aLm2NvB7cD9e", GateRules(free_failures=0, max_addresses=10), Clock())
    for path in ("/favicon.ico", "/robots.txt", "/apple-touch-icon-precomposed.png"):
        verdict = gate.check("10.0.0.2", path)
        assert verdict.rest is None and verdict.delay_s == 0
    assert gate.failures("10.0.0.2") == 0
    for i in range(50):
        gate.check(f"10.0.1.{i}", "/x/")
    assert gate.failures("10.0.1.0") == 0 and gate.failures("10.0.1.49") == 1
    assert len(gate._failures) == 10


def test_delays_double_up_to_the_cap() -> None:
    rules = GateRules(free_failures=5, first_delay_s=0.5, max_delay_s=8)
    assert [delay_after(n, rules) for n in (1, 5, 6, 7, 9, 10, 1000)] == [0, 0, 0.5, 1, 4, 8, 8]


# -- QR codes, read back by an independent decoder ------------------------------------------

HALF = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}
_SGR_PAIR = re.compile(r"\x1b\[(\d+);(\d+)m")
_SGR = re.compile(r"\x1b\[(\d+);(\d+)m|\x1b\[0m|(.)")


def _cells(line: str, color: bool) -> list[tuple[bool, bool]]:
    """(top dark, bottom dark) per character cell, read as a camera would see the colours."""
    if not color:
        return [HALF[ch] for ch in line]
    cells, fg, bg = [], None, None
    for match in _SGR.finditer(line):
        if match.group(1):
            fg, bg = int(match.group(1)), int(match.group(2))
        elif match.group(3):
            assert match.group(3) == "▀"
            cells.append((fg == 30, bg == 40))  # black ink, else white paper
    return cells


def _picture(text: str, color: bool, path: Path, scale: int = 6) -> Path:
    rows: list[list[bool]] = []
    for line in text.rstrip("\n").split("\n"):
        cells = _cells(line, color)
        rows += [[c[0] for c in cells], [c[1] for c in cells]]
    image = Image.new("L", (len(rows[0]), len(rows)))
    image.putdata([0 if dark else 255 for row in rows for dark in row])
    image.resize((image.width * scale, image.height * scale), Image.NEAREST).save(path)
    return path


def zbar(path: Path) -> str:
    run = subprocess.run(
        ["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, timeout=60
    )
    return run.stdout.strip()


needs_zbar = pytest.mark.skipif(
    shutil.which("zbarimg") is None,
    reason="no zbarimg on PATH: `make test` installs Debian's zbar-tools when run as root; "
    "install it (apt-get install zbar-tools) to decode the QR codes",
)


@needs_zbar
@pytest.mark.parametrize("color", [False, True])
def test_terminal_qr_code_decodes_to_the_url(tmp_path: Path, color: bool) -> None:
    text = terminal_text(URL, color)
    assert ("\x1b[" in text) == color
    assert len(text.splitlines()) <= 25  # fits a small terminal: 41 modules, 2 a line
    assert zbar(_picture(text, color, tmp_path / "screen.png")) == URL
    # the check can fail: drawn inverted (as plain characters look on a dark theme), zbar
    # reads nothing; which is why a terminal gets explicit colours
    if color:
        swap = {"30": "97", "97": "30", "40": "107", "107": "40"}
        spoiled = _SGR_PAIR.sub(lambda m: f"\x1b[{swap[m[1]]};{swap[m[2]]}m", text)
    else:
        spoiled = text.translate(str.maketrans("█▀▄ ", " ▄▀█"))
    assert zbar(_picture(spoiled, color, tmp_path / "inverted.png")) == ""


@needs_zbar
def test_png_qr_code_decodes_to_the_url(tmp_path: Path) -> None:
    path = tmp_path / "qr.png"
    path.write_bytes(png_bytes(URL))
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width == image.height >= 300
    assert zbar(path) == URL


def test_app_links_hand_each_app_the_feed_url() -> None:
    feed = URL + "feed.xml"
    links = {link.app: link.href for link in app_links(feed)}
    bare = feed.removeprefix("http://")
    assert links["Apple Podcasts"] == "podcast://" + bare
    assert links["Overcast"] == (
        "overcast://x-callback-url/add?url=http%3A%2F%2F192.168.1.20%3A8000%2F"
        "Zq3-x_8kP0aLm2NvB7cD9e%2Ffeed.xml"
    )
    assert links["Pocket Casts"] == "pktc://subscribe/" + bare
    assert links["Castro"] == "castro://subscribe/" + bare
    assert links["AntennaPod"] == "antennapod-subscribe://" + bare
    assert links["Podcast Addict"] == "podcastaddict://" + bare
    html = subscribe_html(feed)
    assert f'value="{feed}"' in html and 'id="copy-feed"' in html
    assert html.count('class="button" href=') == len(links)
