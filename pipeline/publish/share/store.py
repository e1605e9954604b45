"""What a shared folder keeps about itself, so phones stay subscribed across restarts and moves.

- `.pmr-share-token`: the secret that starts every shared URL (`http://HOST:PORT/TOKEN/...`):
  `secrets.token_urlsafe(16)`, 128 random bits in 22 URL-safe characters, readable by its owner
  only. It is made on the first `--share` and kept; `--new-token` replaces it, which cuts off
  every link and subscription made with the old one.
- `.pmr-podcast-guid`: the feed's Podcasting 2.0 `podcast:guid`. The namespace asks for a UUIDv5
  of the feed URL (scheme and trailing '/' removed) and for the guid never to change after that,
  even when the feed moves. So it is computed once, from the first feed made for the folder (or
  taken from a `feed.xml` already there), and from then on read back, whatever the address.

Both are hidden files: `pmr serve --share` never serves a name starting with '.'.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path

from ...errors import PublishError
from ...files import Replace, write_atomic

TOKEN_NAME = ".pmr-share-token"
GUID_NAME = ".pmr-podcast-guid"
TOKEN_BYTES = 16  # 128 bits: far beyond guessing, even unthrottled
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def share_token(folder: Path, rotate: bool = False) -> str:
    """The folder's token: read back, or made (and kept) on first use or with `rotate`."""
    path = Path(folder) / TOKEN_NAME
    if not rotate and path.exists():
        try:
            token = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise PublishError(
                f"{path}: can't read the share token ({exc}); run with --new-token to make one"
            ) from None
        if not _TOKEN.fullmatch(token):
            raise PublishError(
                f"{path}: not a pmr share token (22 to 64 letters, digits, '-' or '_'); "
                "run with --new-token to make a new one"
            )
        return token
    token = new_token()
    write_atomic(path, token + "\n", error=PublishError, replace=Replace.ALWAYS, private=True)
    return token


def kept_guid(folder: Path, make: Callable[[], str]) -> str:
    """The folder's podcast:guid: read back, or `make()` once and kept from then on."""
    path = Path(folder) / GUID_NAME
    if not path.is_file():
        guid = str(uuid.UUID(make()))
        write_atomic(path, guid + "\n", error=PublishError, replace=Replace.ALWAYS)
        return guid
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise PublishError(
            f"{path}: not a UUID ({text[:40]!r}); it keeps the feed's podcast:guid: restore "
            "it, or delete it to make a new one (podcast apps and directories will then see "
            "a new podcast)"
        ) from None
