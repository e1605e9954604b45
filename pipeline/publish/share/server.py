"""The shared server: `FolderHandler` (byte ranges, no listings, confined to the folder) behind
the token gate, with the feed, index page and playlists generated for the share base.

Read-only: GET and HEAD only, as for `pmr serve`; hidden files (the token itself, batch
stamps, temp files) are never served, and every answer says `Referrer-Policy: no-referrer`, so
a link followed from the page does not carry the token away.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ...errors import PublishError
from ..feed import FEED_NAME, guid_in_feed, load_entries, podcast_guid
from ..serve import (
    FolderHandler,
    Resource,
    bytes_resource,
    file_resource,
    listen,
    served_root,
    target,
)
from .gate import Gate, GateRules
from .site import document
from .store import kept_guid, share_token

WILDCARDS = ("0.0.0.0", "")
_ROUTE_PROBE = ("192.0.2.1", 9)  # RFC 5737 documentation address: routed, never sent to


@dataclass(frozen=True)
class Share:
    folder: Path  # resolved
    token: str
    base_url: str  # http://HOST:PORT/TOKEN/
    guid: str  # the folder's podcast:guid
    sessions: int
    gate: Gate

    @property
    def feed_url(self) -> str:
        return self.base_url + FEED_NAME


class ShareServer(ThreadingHTTPServer):
    share: Share


class ShareHandler(FolderHandler):
    server: ShareServer
    _rest = ""

    def _respond(self, send_body: bool) -> None:
        share = self.server.share
        verdict = share.gate.check(self.client_address[0], urlsplit(self.path).path)
        if verdict.rest is None:
            time.sleep(verdict.delay_s)
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
        elif verdict.rest == "":  # /TOKEN: relative links need the trailing '/'
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", share.gate.prefix + "/")
            self.send_header("Content-Length", "0")
            self.extra_headers()
            self.end_headers()
        else:
            self._rest = verdict.rest
            super()._respond(send_body)

    def resource(self) -> Resource | None:
        share = self.server.share
        name = unquote(self._rest.removeprefix("/"))
        if "/" not in name:
            try:
                found = document(share.folder, share.base_url, share.guid, name)
            except PublishError as exc:  # e.g. the last manifest deleted while serving
                self.log_message("%s", str(exc))
                return None
            if found is not None:
                return bytes_resource(found.name, found.body, time.time())
        path = target(share.folder, self._rest, hidden=False)
        return None if path is None else file_resource(path)

    def extra_headers(self) -> None:
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")


def lan_address() -> str | None:
    """This machine's IPv4 address on its default route, the one a phone on the same network
    reaches: a UDP socket 'connected' to a documentation address makes the kernel choose the
    route and the source address. Connecting a UDP socket sends no packet."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_ROUTE_PROBE)
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith(("0.", "127.")) else address


def make_share_server(
    folder: Path,
    host: str | None = None,
    port: int = 8000,
    rotate: bool = False,
    quiet: bool = False,
    rules: GateRules = GateRules(),  # noqa: B008 (frozen)
) -> ShareServer:
    """A ready (not yet serving) shared server; `host` None binds the LAN address."""
    root = served_root(folder)
    sessions = len(load_entries(root))  # a folder without sessions is a user error now
    shown = lan_address() if host is None or host in WILDCARDS else host
    if shown is None:
        raise PublishError(
            "--share: this machine has no network address to share on (no default route); "
            "connect to the network, or give --host ADDRESS"
        )
    token = share_token(root, rotate)
    server = listen(shown if host is None else host, port, partial(ShareHandler, root=root,
                    quiet=quiet), ShareServer)  # fmt: skip
    base = f"http://{shown}:{server.server_address[1]}/{token}/"
    guid = kept_guid(root, lambda: guid_in_feed(root / FEED_NAME) or podcast_guid(base + FEED_NAME))
    server.share = Share(root, token, base, guid, sessions, Gate(token, rules))
    return server
