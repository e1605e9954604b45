"""`pmr serve`: the output folder over HTTP with byte ranges, so a phone on the same network can
subscribe to the feed and seek in episodes (podcast apps fetch MP3s with Range requests).

Confined to its folder: a request path is percent-decoded once, any '.' or '..' segment, NUL or
backslash is refused, and the resolved file (symlinks followed) must still lie inside the root.
No directory listings. Byte ranges follow RFC 9110 section 14: one range per request;
an unsatisfiable range gets 416, a malformed Range header is ignored (200 with the whole file).
"""

from __future__ import annotations

import io
import mimetypes
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from ..errors import PublishError

CHUNK_BYTES = 64 * 1024
TYPES = {
    ".mp3": "audio/mpeg",
    ".xml": "application/rss+xml; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
    ".m3u8": "audio/x-mpegurl; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(first, last) inclusive for a satisfiable single range; None to send the whole file;
    'unsatisfiable' for a 416. Pure, so each case of the RFC is a one-line test."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None  # malformed or multi-range: a server may ignore Range
    first, last = match.groups()
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size:
        return "unsatisfiable"
    if end < start:
        return None
    return start, end


@dataclass(frozen=True)
class Resource:
    """Something to send: a file's bytes or a generated document's."""

    name: str  # a file name, for the content type
    size: int
    mtime: float
    open: Callable[[], BinaryIO]


def file_resource(path: Path) -> Resource:
    stat = path.stat()
    return Resource(path.name, stat.st_size, stat.st_mtime, lambda: open(path, "rb"))


def bytes_resource(name: str, body: bytes, mtime: float) -> Resource:
    return Resource(name, len(body), mtime, lambda: io.BytesIO(body))


def target(root: Path, raw_path: str, hidden: bool = True) -> Path | None:
    """The file a raw request path names under `root`, or None when it is missing or outside
    the root (or, with `hidden=False`, when a segment starts with '.')."""
    decoded = unquote(raw_path)
    segments = decoded.split("/")
    if "\x00" in decoded or "\\" in decoded or any(s in (".", "..") for s in segments):
        return None
    if not hidden and any(s.startswith(".") for s in segments):
        return None
    path = root.joinpath(*[s for s in segments if s]).resolve()
    if not path.is_relative_to(root):
        return None  # a symlink pointing out of the folder
    if path.is_dir():
        path = path / "index.html"
    return path if path.is_file() else None


class FolderHandler(BaseHTTPRequestHandler):
    """GET/HEAD for files under `root`, with Range; everything else is refused."""

    server_version = "pmr-serve"
    protocol_version = "HTTP/1.1"  # keep-alive: podcast apps make many small range requests
    root: Path = Path(".")
    quiet: bool = False

    def __init__(self, *args: object, root: Path, quiet: bool = False, **kwargs: object) -> None:
        self.root, self.quiet = root, quiet
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def resource(self) -> Resource | None:
        """What the request names, or None for a 404."""
        path = target(self.root, urlsplit(self.path).path)
        return None if path is None else file_resource(path)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        found = self.resource()
        if found is None:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return
        size = found.size
        wanted = byte_range(self.headers.get("Range"), size)
        if wanted == "unsatisfiable":
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        first, last = wanted if isinstance(wanted, tuple) else (0, size - 1)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if wanted else HTTPStatus.OK)
        kind = TYPES.get(Path(found.name).suffix.lower()) or mimetypes.guess_type(found.name)[0]
        self.send_header("Content-Type", kind or "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(max(0, last - first + 1)))
        self.send_header("Last-Modified", formatdate(found.mtime, usegmt=True))
        if wanted:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.extra_headers()
        self.end_headers()
        if send_body and last >= first:
            with found.open() as handle:
                handle.seek(first)
                try:
                    _copy(handle, self.wfile, last - first + 1)
                except (BrokenPipeError, ConnectionResetError):
                    # Players routinely drop a stream once they have what they need.
                    self.close_connection = True

    def extra_headers(self) -> None:
        """Headers a subclass adds to every successful answer."""

    def log_message(self, format: str, *args: object) -> None:
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


def _copy(source: BinaryIO, sink: BinaryIO, count: int) -> None:
    while count > 0:
        chunk = source.read(min(CHUNK_BYTES, count))
        if not chunk:
            break
        sink.write(chunk)
        count -= len(chunk)


def make_server(
    folder: Path, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False
) -> ThreadingHTTPServer:
    """A ready (not yet serving) threaded HTTP server for `folder`; port 0 picks a free one."""
    root = served_root(folder)
    return listen(host, port, partial(FolderHandler, root=root, quiet=quiet))


def served_root(folder: Path) -> Path:
    root = Path(folder).resolve()
    if not root.is_dir():
        raise PublishError(f"{folder}: no such folder to serve")
    return root


def listen(
    host: str,
    port: int,
    handler: Callable[..., BaseHTTPRequestHandler],
    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer,
) -> ThreadingHTTPServer:
    """A server bound to host:port, or a PublishError saying what to change."""
    if not 0 <= port <= 65535:
        raise PublishError(f"--port {port}: give a port from 1 to 65535 (0 picks a free one)")
    try:
        return server_class((host, port), handler)
    except OSError as exc:
        raise PublishError(
            f"can't listen on {host}:{port} ({exc.strerror}); pick another --port or --host"
        ) from None
