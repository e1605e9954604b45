"""Options more than one command takes, declared once; shell completion of their names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..sound.backgrounds import BACKGROUNDS


def _matching(names: list[str], incomplete: str, suffixes: tuple[str, ...] = ()) -> list[str]:
    """Names starting with `incomplete`, then files (with one of `suffixes`, if given) and
    folders it begins, so a path still completes."""
    found = [name for name in names if name.startswith(incomplete)]
    folder, stem = (Path(incomplete).parent, Path(incomplete).name) if incomplete else (Path(), "")
    try:
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        entries = []
    for entry in entries:
        visible = entry.name.startswith(stem) and not entry.name.startswith(".")
        if visible and (entry.is_dir() or not suffixes or entry.suffix in suffixes):
            found.append(str(entry) + ("/" if entry.is_dir() else ""))
    return found


def complete_routine(incomplete: str) -> list[str]:
    from ..template import builtin_routines
    from ..template.load import SCRIPT_SUFFIXES

    return _matching(list(builtin_routines()), incomplete, (".toml", *SCRIPT_SUFFIXES))


def complete_voice(incomplete: str) -> list[str]:
    from ..narration import available_voices

    return [name for name in sorted(available_voices()) if name.startswith(incomplete)]


def complete_background(incomplete: str) -> list[str]:
    return _matching(list(BACKGROUNDS), incomplete)


RoutineArgument = Annotated[
    str,
    typer.Argument(
        help="A built-in routine (see `pmr routines`), a .toml file, or a text script "
        "(.txt, .md, .ssml: see `pmr import`).",
        autocompletion=complete_routine,
    ),
]
Minutes = Annotated[float, typer.Option("--minutes", "-m", help="Session length.")]
SessionMinutes = Annotated[
    float | None,
    typer.Option(
        "--minutes",
        "-m",
        help="Session length [default: the routine's `minutes`, else its natural length when "
        "every pause is fixed, else 10].",
        show_default=False,
    ),
]
Force = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace any regular file at the outputs, not only those pmr wrote."
    ),
]
Voice = Annotated[
    str,
    typer.Option(
        "--voice", "-v", help="Voice profile (see `pmr voices`).", autocompletion=complete_voice
    ),
]
Background = Annotated[
    str,
    typer.Option(
        "--background",
        "-b",
        help=f"NAME or FILE: one of {', '.join(BACKGROUNDS)} (see `pmr backgrounds`), "
        "or an audio file to loop [default: the routine's own, else pad].",
        autocompletion=complete_background,
    ),
]
BedLevel = Annotated[
    float, typer.Option("--bed-level", help="How many LU the background sits below the voice.")
]
Loudness = Annotated[
    str,
    typer.Option(
        "--loudness",
        "-l",
        help="PRESET or LUFS: podcast (-16, stereo), mono (-19), sleep (-23), or a number "
        "[default: the routine's own, else podcast].",
    ),
]
Mono = Annotated[bool, typer.Option("--mono", help="One channel (the mono preset, -19 LUFS).")]
Bitrate = Annotated[str, typer.Option("--bitrate", help="MP3 constant bitrate, e.g. 96k.")]
SampleRate = Annotated[int, typer.Option("--sample-rate", help="Hz, e.g. 48000.")]
Seed = Annotated[int, typer.Option("--seed", help="Noise seed: same seed, same audio.")]
Measure = Annotated[
    bool,
    typer.Option(
        "--measure/--no-measure", help="Meter the loudness (BS.1770) and the MP3's true peak."
    ),
]
CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", envvar="PMR_CACHE_DIR", help="Narration cache folder."),
]
Offline = Annotated[
    bool, typer.Option("--offline", help="Never use the network; online voices fall back.")
]
Strict = Annotated[
    bool, typer.Option("--strict", help="Fail (exit 2) instead of using a fallback voice.")
]
FillMissing = Annotated[
    bool,
    typer.Option("--fill-missing", help="Recorded voices: fallback speaks unrecorded lines."),
]
Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress bar and no notes on stderr; errors still."),
]
Pace = Annotated[
    str | None,
    typer.Option(
        "--pace",
        help="calm, sleep, or a number (x the voice's own pace; lower is slower) "
        "[default: the routine's].",
    ),
]
Room = Annotated[
    str,
    typer.Option("--room", help="Early reflections on synthetic voices: none or small."),
]
VoiceChain = Annotated[
    bool,
    typer.Option(
        "--voice-chain/--dry-voice",
        help="High-pass, de-essing and soft EQ on synthetic voices (recordings stay as recorded).",
    ),
]
Skip = Annotated[
    list[str] | None,
    typer.Option(
        "--skip",
        help="GROUP: leave this muscle group out to rest (repeatable; ids: `pmr routines -g`).",
        show_default=False,
    ),
]
Gentle = Annotated[
    list[str] | None,
    typer.Option(
        "--gentle",
        help="GROUP or all: tense it gently, at about half strength (repeatable).",
        show_default=False,
    ),
]
Dominant = Annotated[
    str,
    typer.Option("--dominant", help="left or right: this side comes first in each pair."),
]
Executor = Annotated[str, typer.Option("--executor", help="local (processes) or dask (a cluster).")]
Scheduler = Annotated[
    str | None, typer.Option("--scheduler", help="dask scheduler address (tcp://HOST:8786).")
]
