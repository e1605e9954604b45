"""The index page's URL as a QR code (ISO/IEC 18004, made by segno): for the terminal in
Unicode half blocks, two modules a character cell, and as a PNG for `--qr FILE.png`.

Error correction level M (15 % of the code may be lost), raised by segno when the URL leaves
room; a quiet zone of 4 modules, the standard's minimum, so a camera finds the edges.
In a terminal, light-on-dark themes would invert a code drawn in plain characters, and some
scanners read no inverted codes; so on a terminal each cell gets explicit colours (ANSI: black
ink on white paper whatever the theme), and without colours (NO_COLOR, a file, a pipe) the
characters are the dark modules, as ink on paper.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno

from ...errors import PublishError
from ...files import Replace, write_atomic

QUIET_ZONE = 4
PNG_SCALE = 8  # pixels per module: about 330 px square for a LAN URL

# (top dark, bottom dark) -> character, dark modules drawn
_PLAIN = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
_INK, _PAPER = 30, 97  # ANSI foreground colours: black and bright white (+10: background)


def qr_code(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def modules(url: str, border: int = QUIET_ZONE) -> tuple[tuple[bool, ...], ...]:
    """The code's modules, True for dark, with the quiet zone around them."""
    return tuple(
        tuple(bool(m) for m in row) for row in qr_code(url).matrix_iter(scale=1, border=border)
    )


def _pairs(rows: tuple[tuple[bool, ...], ...]):
    width = len(rows[0])
    for top in range(0, len(rows), 2):
        bottom = rows[top + 1] if top + 1 < len(rows) else (False,) * width
        yield zip(rows[top], bottom, strict=True)


def terminal_text(url: str, color: bool) -> str:
    """Lines of half-block characters; with `color`, ANSI colours make it theme-proof."""
    lines = []
    for pair in _pairs(modules(url)):
        if not color:
            lines.append("".join(_PLAIN[cell] for cell in pair))
            continue
        out, last = [], None
        for top, bottom in pair:
            state = (_INK if top else _PAPER, (_INK if bottom else _PAPER) + 10)
            if state != last:
                out.append(f"\x1b[{state[0]};{state[1]}m")
                last = state
            out.append("▀")  # upper half in the foreground colour, lower half in the background
        lines.append("".join(out) + "\x1b[0m")
    return "\n".join(lines) + "\n"


def png_bytes(url: str, scale: int = PNG_SCALE) -> bytes:
    """The code as a black-on-white PNG (segno writes PNG itself, no imaging library)."""
    buffer = io.BytesIO()
    qr_code(url).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()


def check_qr_path(path: Path) -> Path:
    """`--qr FILE.png`: a new PNG file in an existing folder (pmr never replaces a file)."""
    if path.suffix.lower() != ".png":
        raise PublishError(f"--qr {path}: give a file name ending in .png")
    if path.exists() or path.is_symlink():
        raise PublishError(f"--qr {path}: already exists; give a new file name or delete it")
    if not path.parent.is_dir():
        raise PublishError(f"--qr {path}: no such folder {path.parent}")
    return path


def save_qr(path: Path, url: str) -> Path:
    check_qr_path(path)
    try:
        return write_atomic(path, png_bytes(url), error=PublishError, replace=Replace.NEVER)
    except FileExistsError:
        raise PublishError(f"--qr {path}: appeared meanwhile; give a new file name") from None
