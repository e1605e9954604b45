"""Does the voice chain help or muddy? Score the voice stretches of real sessions with DNSMOS.

Builds the same session dry, with the default chain and with each room, decodes every MP3
again, cuts out the voice stretches (each transcript line from its first to its last voiced
frame, found by pipeline/check.py's meter), and scores them with Microsoft's DNSMOS P.835
(SIG, BAK, OVRL) and P.808 models as the `speechmos` wheel ships them (ONNX files inside the
package: it runs offline). Needs the `quality` extra: pip install -e '.[quality]'.

    python scripts/voice_quality.py [--routine full] [--minutes 10] [--voice piper-joe]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from pipeline import check
from pipeline.build import BuildOptions, build
from pipeline.encode import ffmpeg_exe

VARIANTS = {  # name -> BuildOptions fields
    "dry": {"voice_chain": False},
    "chain": {"voice_chain": True},
    "chain + small room": {"voice_chain": True, "room": "small"},
}
MOS_RATE_HZ = 16_000


def voice_stretches(mp3: Path) -> np.ndarray:
    """The voiced span of every transcript line, mono at 16 kHz, joined end to end."""
    frames = check.decode_frames(mp3)
    spoken = check.locate(check.read_vtt(mp3.with_suffix(".vtt")), frames.voiced())
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(mp3), "-f", "f32le", "-ac", "1",
         "-ar", str(MOS_RATE_HZ), "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    audio = np.frombuffer(raw, dtype="<f4")
    parts = [audio[round(s.first_s * MOS_RATE_HZ) : round(s.last_s * MOS_RATE_HZ)] for s in spoken]
    return np.clip(np.concatenate(parts), -1.0, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routine", default="full")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--voice", default="piper-joe")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--background", default="none")
    args = parser.parse_args()
    from speechmos import dnsmos

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fields in VARIANTS.items():
            out = Path(tmp) / f"{name.replace(' ', '_').replace('+', '')}.mp3"
            build(BuildOptions(routine=args.routine, minutes=args.minutes, voice=args.voice,
                               out=out, cache_dir=args.cache_dir, background=args.background,
                               **fields))  # fmt: skip
            speech = voice_stretches(out)
            score = dnsmos.run(speech, MOS_RATE_HZ)
            results[name] = {k: round(float(v), 3) for k, v in score.items()}
            results[name]["speech_s"] = round(speech.size / MOS_RATE_HZ, 1)
            print(f"{name:20s} " + "  ".join(f"{k} {v}" for k, v in results[name].items()))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
