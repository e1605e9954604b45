"""What every engine is: one line of text in, mono float32 samples at the engine's rate out.

Everything else (caching, trimming, resampling, loudness) is done once, outside, for every
engine alike. An engine subclasses `Engine` and overrides only the hooks it needs; its profile
keys are a frozen `EngineOptions` dataclass, parsed and checked when the profile is read.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from ...errors import VoiceError

if TYPE_CHECKING:
    from ..profiles import VoiceProfile


@cache
def package_version(distribution: str) -> str:
    """An installed distribution's version, read once a process: an engine's `version()` goes
    into every line's cache key. It is read from the name of the distribution's
    `NAME-VERSION.dist-info` folder on sys.path (as importlib.metadata finds it), which costs
    no import of importlib.metadata (0.04-0.07 s at each start); else from importlib.metadata."""
    prefix = re.sub(r"[-_.]+", "_", distribution).lower() + "-"
    for entry in sys.path:
        with contextlib.suppress(OSError):
            for name in os.listdir(entry or "."):
                if name.lower().startswith(prefix) and name.endswith(".dist-info"):
                    return name[len(prefix) : -len(".dist-info")]
    from importlib import metadata

    return metadata.version(distribution)


@dataclass(frozen=True)
class RawClip:
    samples: np.ndarray  # mono float32 in [-1, 1]
    rate_hz: int
    trim: bool = True  # trim leading/trailing silence to the fixed pad
    gain_db: float = 0.0  # on top of the voice's level (a recorded line's own gain)


class EngineUnavailable(VoiceError):
    """The engine can't be reached now (network, timeouts, rate limits, outage, --offline):
    the build may go on with the profile's fallback voice."""

    def __init__(self, engine: str, cause: str) -> None:
        self.engine, self.cause = engine, cause
        super().__init__(f"{engine} is unavailable: {cause}")


class MissingLines(VoiceError):
    """Lines this voice has nothing for (a recorded pack without their takes); with
    --fill-missing the fallback voice speaks them, else this is the error."""

    def __init__(self, message: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(message)


class EngineOptions:
    """An engine's own profile keys (beside the common ones), as a frozen dataclass."""

    KEYS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, path: Path, doc: dict[str, Any]) -> EngineOptions:
        """Check this engine's keys in the profile `doc` read from `path`; raise VoiceError."""
        return cls()

    def cache_params(self) -> dict[str, Any]:
        """What of these options shapes the sound: it goes into every clip's cache key."""
        return {}


class Engine(Protocol):
    """The engine interface; the optional hooks have defaults, so subclass it."""

    name: ClassVar[str]
    concurrency: ClassVar[int]  # lines synthesized at once (threads)
    online: ClassVar[bool] = False  # needs the network: --offline skips it
    phrased: ClassVar[bool] = True  # spoken phrase by phrase (narration/phrased.py)
    max_phrase_chars: ClassVar[int | None] = None  # the longest text one call takes

    def __init__(self, profile: VoiceProfile) -> None: ...

    def version(self) -> str:
        """Goes into cache keys: a new engine release re-synthesizes."""
        ...

    def synthesize(self, text: str, line_id: str = "") -> RawClip: ...

    def missing(self, line_ids: list[str]) -> MissingLines | None:
        """The lines among `line_ids` this voice can't speak, as the error to raise (or to
        hand to the fallback with --fill-missing); None when it can speak them all."""
        return None

    def cache_text(self, text: str, line_id: str) -> str:
        """What identifies a line's clip in the cache besides the profile: its text."""
        return text


def string(path: Path, doc: dict[str, Any], key: str, default: str = "") -> str:
    value = doc.get(key, default)
    if not isinstance(value, str):
        raise VoiceError(f"{path}: {key}: {value!r} must be a string")
    return value


def boolean(path: Path, doc: dict[str, Any], key: str, default: bool) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise VoiceError(f"{path}: {key}: {value!r} must be true or false")
    return value


def number(path: Path, doc: dict[str, Any], key: str, default: float, lo: float, hi: float):
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise VoiceError(f"{path}: {key}: {value!r} must be a number from {lo:g} to {hi:g}")
    return float(value)
