"""Text-to-speech engines and their registry: engine name -> its class and its profile keys.

Adding an engine is one module here (an `Engine` subclass and its `EngineOptions`) and one
entry in `REGISTRY`; a profile naming an engine not in it is refused when it is read.
Heavy imports (piper, onnxruntime, gTTS's request code) happen on first synthesis, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import Engine, EngineOptions, EngineUnavailable, MissingLines, RawClip
from .gtts import GttsEngine, GttsOptions
from .piper import PiperEngine, PiperOptions
from .recorded import RecordedEngine, RecordedOptions

if TYPE_CHECKING:
    from ..profiles import VoiceProfile

__all__ = [
    "REGISTRY",
    "Engine",
    "EngineOptions",
    "EngineUnavailable",
    "MissingLines",
    "RawClip",
    "Registered",
    "engine_for",
]


@dataclass(frozen=True)
class Registered:
    engine: type[Engine]
    options: type[EngineOptions]  # its profile keys, parsed when the profile is read


REGISTRY: dict[str, Registered] = {
    "piper": Registered(PiperEngine, PiperOptions),
    "gtts": Registered(GttsEngine, GttsOptions),
    "recorded": Registered(RecordedEngine, RecordedOptions),
}


def engine_for(profile: VoiceProfile) -> Engine:
    """The engine that speaks `profile` (its engine name was checked when it was read)."""
    return REGISTRY[profile.engine].engine(profile)
