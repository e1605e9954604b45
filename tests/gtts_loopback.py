"""A loopback stand-in for translate.google.<tld> that speaks gTTS's wire format.

It answers POST /<accent>/_/TranslateWebserverUi/data/batchexecute with a form body
`f.req=[[["jQ1olc","[text,lang,speed,\\"null\\"]",null,"generic"]]]`, exactly what gTTS 2.5
builds, with Google's batchexecute answer: the `)]}'` guard, then length-prefixed JSON chunks,
the `wrb.fr` entry carrying the base64 MP3. The MP3 is real (ffmpeg/libmp3lame, 24 kHz mono
32 kbit/s like Google's): silence, a tone lasting TONE_S_PER_CHAR per character, silence.
Tests queue misbehaviours (status codes, slow answers, garbage, a cut connection) and read
back every request the server saw.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from pipeline.encode import ffmpeg_exe

RPC_PATH = "/_/TranslateWebserverUi/data/batchexecute"
TONE_S_PER_CHAR = 0.02
LEAD_S, TAIL_S = 0.3, 0.4  # silence Google puts around its speech (roughly)
MP3_RATE_HZ = 24_000


@dataclass(frozen=True)
class Seen:
    accent: str
    text: str
    lang: str
    speed: object
    at_s: float  # time.monotonic() when it arrived


@dataclass
class LoopbackGoogle:
    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    plan: deque = field(default_factory=deque)  # actions for the next requests; then "ok"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{accent}}"

    def texts(self) -> list[str]:
        return [s.text for s in self.seen]


@cache
def tone_mp3(chars: int) -> bytes:
    """Real MP3 bytes: LEAD_S silence, a 330 Hz tone of chars * TONE_S_PER_CHAR, TAIL_S."""
    rate = MP3_RATE_HZ
    tone = 0.5 * np.sin(2 * np.pi * 330 * np.arange(round(chars * TONE_S_PER_CHAR * rate)) / rate)
    pcm = np.concatenate([np.zeros(round(LEAD_S * rate)), tone, np.zeros(round(TAIL_S * rate))])
    return subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
         "-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3", "pipe:1"],
        input=pcm.astype("<f4").tobytes(), capture_output=True, check=True,
    ).stdout  # fmt: skip


def batchexecute_answer(mp3: bytes) -> bytes:
    """Google's answer format: guard line, then length-prefixed JSON chunks."""
    payload = json.dumps([base64.b64encode(mp3).decode("ascii")])
    first = json.dumps(
        [["wrb.fr", "jQ1olc", payload, None, None, None, "generic"], ["di", 41],
         ["af.httprm", 40, "-3612373826043157738", 12]],
        separators=(",", ":"),
    )  # fmt: skip
    second = json.dumps([["e", 4, None, None, len(first) + 60]], separators=(",", ":"))
    return f")]}}'\n\n{len(first)}\n{first}\n{len(second)}\n{second}\n".encode()


def _handler(server_state: LoopbackGoogle):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_POST(self) -> None:
            arrived = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            accent, _, path = self.path.lstrip("/").partition("/")
            form = urllib.parse.parse_qs(body)
            try:
                rpc = json.loads(form["f.req"][0])
                rpc_id, params = rpc[0][0][0], json.loads(rpc[0][0][1])
            except (KeyError, ValueError, IndexError):
                return self._send(400, b"bad request")
            if f"/{path}" != RPC_PATH or rpc_id != "jQ1olc":
                return self._send(404, b"not found")
            text, lang, speed = params[0], params[1], params[2]
            server_state.seen.append(Seen(accent, text, lang, speed, arrived))
            action = server_state.plan.popleft() if server_state.plan else "ok"
            if isinstance(action, tuple) and action[0] == "status":
                return self._send(action[1], b"busy", action[2] if len(action) > 2 else {})
            if isinstance(action, tuple) and action[0] == "sleep":
                time.sleep(action[1])
            if action == "garbage":
                return self._send(200, b"<html>Our systems have detected unusual traffic</html>")
            if action == "not-mp3":
                return self._send(200, batchexecute_answer(b"ID3 this is no audio" * 40))
            answer = batchexecute_answer(tone_mp3(len(text)))
            if action == "cut":  # promise the whole answer, send half, hang up
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer[: len(answer) // 2])
                self.close_connection = True
                return None
            return self._send(200, answer)

        def _send(self, status: int, data: bytes, headers: dict | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    return Handler


class running_server:
    """Context manager: a LoopbackGoogle listening on 127.0.0.1 in a daemon thread."""

    def __enter__(self) -> LoopbackGoogle:
        self.state = LoopbackGoogle()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.httpd.daemon_threads = True
        self.state.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self.state

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
