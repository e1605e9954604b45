"""What `pmr serve --share` says when it starts: what it exposes, the URLs, the QR code."""

from __future__ import annotations

from pathlib import Path

from .qr import terminal_text
from .server import Share


def exposure(share: Share) -> str:
    """The security notice: what is reachable, by whom, and how to cut it off."""
    return (
        f"pmr: sharing {share.folder} read-only on the local network: its {share.sessions} "
        "sessions (MP3s, transcripts, chapters, cover) with a feed, index page and playlists "
        "made for this address.\n"
        "pmr: anyone who has the link or the QR code can listen; nothing is served without "
        "the secret in the link, hidden files and files outside the folder never are, and "
        "nothing can be uploaded or changed. --new-token makes old links stop working.\n"
    )


def announcement(share: Share, color: bool, qr_file: Path | None = None) -> str:
    """The URLs and the index page's QR code, as the terminal shows them."""
    saved = f"QR code saved as {qr_file}\n" if qr_file else ""
    return (
        f"index page: {share.base_url}\n"
        f"feed:       {share.feed_url}\n"
        f"{terminal_text(share.base_url, color)}"
        f"{saved}"
        "Scan the code with a phone on the same network to open the page; Ctrl-C stops.\n"
    )
