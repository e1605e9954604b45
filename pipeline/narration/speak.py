"""One line spoken with a voice, written as an MP3: `pmr preview`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..encode import Mp3Writer, check_output_path
from ..template import Script, expand
from ..tuning import SAMPLE_RATE_HZ
from . import ClipCache, narrate
from .profiles import VoiceProfile


@dataclass(frozen=True)
class Spoken:
    path: Path
    seconds: float
    voice: str  # the voice that spoke it (a fallback, if the profile's engine could not)


def speak_line(
    text: str,
    profile: VoiceProfile,
    cache: ClipCache,
    out: Path | None = None,
    offline: bool = False,
    strict: bool = False,
    on_notice: Callable[[str], None] | None = None,
) -> Spoken:
    """Narrate `text` (validated like any template line, cached like any clip) into `out`
    [default: output/preview-VOICE.mp3]."""
    script = one_line_script(text, profile.language)
    if out is None:
        out = Path("output") / f"preview-{profile.name}.mp3"
        out.parent.mkdir(parents=True, exist_ok=True)
    check_output_path(out)
    clips = narrate(
        script,
        profile,
        cache,
        SAMPLE_RATE_HZ,
        offline=offline,
        strict=strict,
        on_notice=on_notice,
    )
    clip = clips.load("preview.line")
    with Mp3Writer(out, rate_hz=SAMPLE_RATE_HZ, channels=1) as mp3:
        mp3.write(clip.reshape(-1, 1))
    return Spoken(out, clip.shape[0] / SAMPLE_RATE_HZ, next(iter(clips.voices.values())))


def one_line_script(text: str, language: str) -> Script:
    """A one-line routine, validated like any template line."""
    return expand(
        {
            "routine": {"name": "preview", "title": "Preview", "language": language},
            "sections": [
                {"id": "preview", "title": "Preview", "steps": [{"id": "line", "say": text}]}
            ],
        },
        source="preview text",
    )
