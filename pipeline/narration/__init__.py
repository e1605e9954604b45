"""Script + voice profile -> narration clips, each synthesized once and cached.

narrate.py is the stage (thread pool, fallback chain); profiles.py reads voice profiles;
engines/ holds one module per engine and the registry; cache.py the content-addressed clips;
recorded.py the recorded voice packs and recording scripts.
"""

from .cache import ClipCache, default_cache_dir
from .engines import EngineUnavailable
from .narrate import Clips, narrate
from .profiles import VoiceProfile, available_voices, load_voice

__all__ = [
    "ClipCache",
    "Clips",
    "EngineUnavailable",
    "VoiceProfile",
    "available_voices",
    "default_cache_dir",
    "load_voice",
    "narrate",
]
