"""Google Translate TTS (gTTS) done the way a long build needs it.

gTTS builds the request (its text pre-processors, the batchexecute `f.req` body for the
`jQ1olc` RPC, its headers); pmr sends it itself so it can split lines at natural boundaries
(textsplit), time out, limit concurrency and rate, retry 429/5xx/timeouts with exponential
backoff and full jitter while honouring Retry-After (RFC 9110 §10.2.3), and decode the MP3
answer with ffmpeg before anything is cached. `PMR_GTTS_BASE_URL` points every request at
another host (the tests' loopback server, a relay; `{accent}` in it becomes the profile's
accent); `PMR_GTTS_TIMEOUT_S` and `PMR_GTTS_RETRIES` tune the network behaviour.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import random
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...dsp import trim_silence
from ...errors import VoiceError, did_you_mean
from ...tuning import (
    CLIP_SILENCE_DBFS,
    GTTS_BACKOFF_MAX_S,
    GTTS_BACKOFF_S,
    GTTS_CONCURRENCY,
    GTTS_CONNECT_TIMEOUT_S,
    GTTS_MAX_CHARS,
    GTTS_RATE_PER_S,
    GTTS_READ_TIMEOUT_S,
    GTTS_RETRIES,
    GTTS_RETRY_AFTER_MAX_S,
    SAMPLE_RATE_HZ,
)
from ..audio_io import decode_audio
from ..textsplit import split_for_tts
from .base import (
    Engine,
    EngineOptions,
    EngineUnavailable,
    RawClip,
    boolean,
    package_version,
    string,
)

if TYPE_CHECKING:
    import requests

    from ..profiles import VoiceProfile

RPC_ID = "jQ1olc"
RPC_PATH = "_/TranslateWebserverUi/data/batchexecute"
SPLIT_VERSION = 2  # bump when splitting or joining changes what a gTTS clip holds
# Google Translate hosts that give gTTS its regional accents (translate.google.<tld>).
ACCENTS = ("com", "co.uk", "com.au", "co.in", "ca", "ie", "co.za")


class GttsAnswerError(VoiceError):
    """Google answered, but not with audio: an API change or an unsupported request."""


@dataclass(frozen=True)
class GttsOptions(EngineOptions):
    accent: str = "com"  # the translate.google.<accent> host
    slow: bool = False  # Google's slow reading

    KEYS: ClassVar[tuple[str, ...]] = ("accent", "slow")

    @classmethod
    def parse(cls, path: Path, doc: dict[str, Any]) -> GttsOptions:
        accent = string(path, doc, "accent", "com")
        if accent not in ACCENTS:
            raise VoiceError(
                f"{path}: accent: {accent!r} is unknown{did_you_mean(accent, ACCENTS)}; "
                f"valid: {', '.join(ACCENTS)}"
            )
        slow = boolean(path, doc, "slow", False)
        from gtts.lang import tts_langs  # a table shipped with gTTS: no network

        langs, language = tts_langs(), doc["language"]
        if language not in langs:
            raise VoiceError(
                f"{path}: language: {language!r} is not a gTTS language"
                f"{did_you_mean(language, langs)}; e.g. en, es, fr, de"
            )
        return cls(accent, slow)

    def cache_params(self) -> dict[str, Any]:
        return {"accent": self.accent, "slow": self.slow}


@dataclass(frozen=True)
class GttsSettings:
    base_url: str = ""  # "" means https://translate.google.<accent>
    connect_timeout_s: float = GTTS_CONNECT_TIMEOUT_S
    read_timeout_s: float = GTTS_READ_TIMEOUT_S
    retries: int = GTTS_RETRIES
    backoff_s: float = GTTS_BACKOFF_S

    @classmethod
    def from_env(cls) -> GttsSettings:
        settings = cls(base_url=os.environ.get("PMR_GTTS_BASE_URL", "").rstrip("/"))
        if timeout := os.environ.get("PMR_GTTS_TIMEOUT_S"):
            seconds = _env_number("PMR_GTTS_TIMEOUT_S", timeout, 0.05, 300)
            settings = cls(settings.base_url, seconds, seconds, settings.retries)
        if retries := os.environ.get("PMR_GTTS_RETRIES"):
            count = int(_env_number("PMR_GTTS_RETRIES", retries, 0, 20))
            settings = cls(
                settings.base_url, settings.connect_timeout_s, settings.read_timeout_s, count
            )
        return settings


def _env_number(name: str, value: str, lo: float, hi: float) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not lo <= number <= hi:
        raise VoiceError(f"${name}: {value!r} must be a number from {lo:g} to {hi:g}")
    return number


class _Throttle:
    """At most `concurrency` requests in flight and `rate_per_s` starts per second, shared by
    every thread of the process (one per host)."""

    def __init__(self, concurrency: int, rate_per_s: float) -> None:
        self.slots = threading.BoundedSemaphore(concurrency)
        self.interval_s = 1.0 / rate_per_s
        self._lock = threading.Lock()
        self._next_start = 0.0

    def wait_turn(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.interval_s
        if start > now:
            time.sleep(start - now)


_throttles: dict[str, _Throttle] = {}
_throttles_lock = threading.Lock()


def _throttle_for(host: str) -> _Throttle:
    with _throttles_lock:
        return _throttles.setdefault(host, _Throttle(GTTS_CONCURRENCY, GTTS_RATE_PER_S))


class GttsEngine(Engine):
    """Google's voices over the network; one request per piece of at most 100 characters."""

    name = "gtts"
    concurrency = GTTS_CONCURRENCY
    online = True
    phrased = True  # lines come phrase by phrase (narration/phrases.py), each one request
    max_phrase_chars = GTTS_MAX_CHARS

    def __init__(self, profile: VoiceProfile, settings: GttsSettings | None = None) -> None:
        self.profile = profile
        self.options: GttsOptions = profile.options
        self.settings = settings or GttsSettings.from_env()
        accent = self.options.accent
        base = self.settings.base_url.replace("{accent}", accent) or (
            f"https://translate.google.{accent}"
        )
        self.url = f"{base}/{RPC_PATH}"
        self.throttle = _throttle_for(base)
        self._local = threading.local()

    def version(self) -> str:
        return f"gTTS {package_version('gTTS')}, split {SPLIT_VERSION}"

    def synthesize(self, text: str, line_id: str = "") -> RawClip:
        """One phrase, normally one request; mono float32 at 44.1 kHz. Longer text (a caller
        that did not phrase it) is cut at natural places and the pieces joined back to back:
        the pauses between phrases are narration/phrased.py's to set."""
        parts: list[np.ndarray] = []
        for piece in split_for_tts(text, GTTS_MAX_CHARS):
            mp3 = b"".join(self.fetch(body) for body in self.bodies(piece))
            samples = decode_audio(
                mp3, SAMPLE_RATE_HZ, self.profile.pace, f"{self.profile.name}: answer for {piece!r}"
            )
            parts.append(trim_silence(samples, SAMPLE_RATE_HZ, CLIP_SILENCE_DBFS, 0.0))
        if not parts:
            raise VoiceError(f"voice {self.profile.name}: nothing to say in {text!r}")
        return RawClip(np.concatenate(parts), SAMPLE_RATE_HZ)

    def bodies(self, piece: str) -> list[str]:
        """The form bodies gTTS itself would send (normally one: pieces are under its limit)."""
        from gtts import gTTS

        tts = gTTS(
            piece,
            tld=self.options.accent,
            lang=self.profile.language,
            slow=self.options.slow,
            lang_check=False,
            pre_processor_funcs=_pre_processors(),
        )
        return [str(body) for body in tts.get_bodies()]

    def fetch(self, body: str) -> bytes:
        """POST one batchexecute body; retry what is worth retrying; the MP3 bytes or raise."""
        import requests  # here, not at import: `pmr --help` needs no HTTP stack
        from gtts import gTTS

        cause, wait_s = "", None
        for attempt in range(self.settings.retries + 1):
            if attempt:
                self._sleep_before_retry(attempt, wait_s)
            try:
                with self.throttle.slots:
                    self.throttle.wait_turn()
                    answer = self._session().post(
                        self.url,
                        data=body,
                        headers=gTTS.GOOGLE_TTS_HEADERS,
                        timeout=(self.settings.connect_timeout_s, self.settings.read_timeout_s),
                    )
            except requests.Timeout:
                cause = f"no answer from {self.url} within {self.settings.read_timeout_s:g} s"
                wait_s = None
                continue
            except requests.ConnectionError as exc:
                reason = _reason(exc)
                cause, wait_s = f"can't connect to {self.url} ({reason})", None
                if reason in NO_ROUTE:  # offline: waiting won't help, fall back at once
                    break
                continue
            except requests.exceptions.ChunkedEncodingError:
                cause, wait_s = f"the answer from {self.url} was cut off", None
                continue
            except requests.RequestException as exc:
                raise EngineUnavailable(self.profile.name, f"request failed: {exc}") from None
            if answer.status_code == 429 or answer.status_code >= 500:
                cause = f"HTTP {answer.status_code} {answer.reason} from {self.url}"
                wait_s = retry_after_s(answer.headers.get("Retry-After"))
                if wait_s is not None and wait_s > GTTS_RETRY_AFTER_MAX_S:
                    raise EngineUnavailable(
                        self.profile.name, f"{cause}; asked to wait {wait_s:.0f} s"
                    )
                continue
            if answer.status_code != 200:
                raise GttsAnswerError(
                    f"voice {self.profile.name}: HTTP {answer.status_code} {answer.reason} "
                    f"from {self.url}{_probable_cause(answer.status_code, self.profile)}"
                )
            return parse_batchexecute(answer.text, f"voice {self.profile.name}: {self.url}")
        tries = attempt + 1
        raise EngineUnavailable(
            self.profile.name, f"{cause} (after {tries} attempt{'s' * (tries > 1)})"
        )

    def _sleep_before_retry(self, attempt: int, retry_after: float | None) -> None:
        """Exponential backoff with full jitter; a server's Retry-After is a floor."""
        ceiling = min(GTTS_BACKOFF_MAX_S, self.settings.backoff_s * 2 ** (attempt - 1))
        delay = random.uniform(0.5 * ceiling, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        time.sleep(delay)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            # An explicit base URL (a loopback test server, a local relay) is never proxied.
            session.trust_env = not self.settings.base_url
            self._local.session = session
        return session


@cache
def _pre_processors() -> list:
    """gTTS's own text pre-processors, but abbreviations only as whole words: gTTS drops the
    period after any word *ending* in dr/jr/mr/ms/sr/st, so "Make a fist." and "Rest." lose
    their sentence end (and Google its falling intonation)."""
    import re

    from gtts.tokenizer import pre_processors, symbols
    from gtts.tokenizer.core import PreProcessorRegex

    whole_word = PreProcessorRegex(
        search_args=symbols.ABBREVIATIONS,
        search_func=lambda abbr: rf"(?<=\b{abbr})(?=\.).",
        repl="",
        flags=re.IGNORECASE,
    )
    return [pre_processors.tone_marks, pre_processors.end_of_line, whole_word.run,
            pre_processors.word_sub]  # fmt: skip


def parse_batchexecute(text: str, where: str) -> bytes:
    """The MP3 inside a batchexecute answer: after the `)]}'` guard, length-prefixed JSON
    chunks; the `["wrb.fr", "jQ1olc", "[\\"<base64 mp3>\\"]", ...]` entry carries the audio."""
    for row in text.splitlines():
        if RPC_ID not in row:
            continue
        try:
            chunk = json.loads(row)
        except ValueError:
            continue
        for entry in chunk if isinstance(chunk, list) else []:
            if not (isinstance(entry, list) and len(entry) > 2 and entry[:2] == ["wrb.fr", RPC_ID]):
                continue
            if entry[2] is None:
                raise GttsAnswerError(
                    f"{where}: the answer holds no audio (Google refused the request; "
                    "probably an unsupported language or accent)"
                )
            try:
                payload = json.loads(entry[2])
                return base64.b64decode(payload[0], validate=True)
            except (ValueError, TypeError, IndexError, KeyError, binascii.Error):
                break
    raise GttsAnswerError(
        f"{where}: unexpected answer, not Google's batchexecute format with {RPC_ID} audio "
        f"(first bytes: {text[:60]!r}); the API may have changed: try a newer gTTS or a "
        "Piper voice (--voice piper-joe)"
    )


def retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # (a package of its own: only for an HTTP date)

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


NO_ROUTE = (
    "Name or service not known",
    "Temporary failure in name resolution",
    "nodename nor servname provided",
    "Network is unreachable",
)


def _reason(exc: requests.ConnectionError) -> str:
    text = str(exc)
    for known in ("Connection refused", *NO_ROUTE):
        if known in text:
            return known
    return text.split(": ")[-1][:120] if text else type(exc).__name__


def _probable_cause(status: int, profile: VoiceProfile) -> str:
    if status == 403:
        return "; probable cause: Google blocked the request or its API changed"
    if status == 404:
        return f"; probable cause: accent {profile.options.accent!r} has no Translate host"
    return ""
