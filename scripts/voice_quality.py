"""Does the voice chain help or muddy? Score the voice stretches of real sessions with DNSMOS.

Builds the same session dry, with the default chain and with each room, decodes every MP3
again, cuts out the voice stretches (each transcript line from its first to its last voiced
frame, found by pipeline/check.py's meter), and scores them with Microsoft's DNSMOS P.835
(SIG, BAK, OVRL) and P.808 models as the `speechmos` wheel ships them (ONNX files inside the
package: it runs offline). Needs the `quality` extra: pip install -e '.[quality]'.

    python scripts/voice_quality.py [--routine full] [--minutes 10] [--voice piper-joe]

Which part of the chain costs or gains? `--parts DRY.mp3` (a build with --dry-voice
--background none) builds nothing: it applies each part of the chain on its own to that file's
voice stretches offline (at 44.1 kHz, level matched to the dry audio so loudness does not
count), and scores 9 s segments that do not overlap, so each part's difference from dry comes
with a standard error over paired segments. The build applies the chain per clip before the
loudness stage and the encoder; this approximates that, to compare the parts with each other.

    python scripts/voice_quality.py --parts out/full-15-dry.mp3
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
from pipeline.sound.voicechain import DEFAULT_CHAIN, DRY, VoiceChain

VARIANTS = {  # name -> BuildOptions fields
    "dry": {"voice_chain": False},
    "chain": {"voice_chain": True},
    "chain + small room": {"voice_chain": True, "room": "small"},
}
MOS_RATE_HZ = 16_000
PARTS = {  # name -> chain applied offline by --parts
    "dry": DRY,
    "high-pass 80 Hz only": VoiceChain(80.0, False, 0.0, 0.0),
    "de-esser only": VoiceChain(0.0, True, 0.0, 0.0),
    "EQ only (+1 dB 160 Hz, +1.5 dB 3 kHz)": VoiceChain(0.0, False, 1.0, 1.5),
    "default chain": DEFAULT_CHAIN,
    "high-pass + EQ (no de-esser)": VoiceChain(80.0, False, 1.0, 1.5),
    "default chain + small room": VoiceChain(room="small"),
    "small room only": VoiceChain(0.0, False, 0.0, 0.0, "small"),
}
PART_RATE_HZ = 44_100
SEGMENT_S = 9.01  # DNSMOS's input length


def voice_stretches(mp3: Path, rate_hz: int = MOS_RATE_HZ) -> np.ndarray:
    """The voiced span of every transcript line, mono at `rate_hz`, joined end to end."""
    frames = check.decode_frames(mp3)
    spoken = check.locate(check.read_vtt(mp3.with_suffix(".vtt")), frames.voiced())
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(mp3), "-f", "f32le", "-ac", "1",
         "-ar", str(rate_hz), "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    audio = np.frombuffer(raw, dtype="<f4")
    parts = [audio[round(s.first_s * rate_hz) : round(s.last_s * rate_hz)] for s in spoken]
    return np.clip(np.concatenate(parts), -1.0, 1.0)


def segment_scores(speech: np.ndarray) -> np.ndarray:
    """(segments, 4): OVRL, SIG, BAK and P.808 of each 9.01 s segment, none overlapping."""
    from speechmos import dnsmos

    size = round(SEGMENT_S * MOS_RATE_HZ)
    rows = []
    for start in range(0, speech.size - size + 1, size):
        score = dnsmos.run(speech[start : start + size], MOS_RATE_HZ)
        rows.append([score[k] for k in ("ovrl_mos", "sig_mos", "bak_mos", "p808_mos")])
    return np.array(rows, dtype=np.float64)


def score_parts(dry_mp3: Path) -> None:
    """Each part of the chain alone on the dry voice, scored against dry on paired segments."""
    import librosa

    dry = voice_stretches(dry_mp3, PART_RATE_HZ).astype(np.float64)
    rms = np.sqrt(np.mean(dry**2))
    base = None
    print("| chain (offline) | OVRL | SIG | BAK | P.808 |\n| --- | --- | --- | --- | --- |")
    for name, chain in PARTS.items():
        y = chain.apply(dry, PART_RATE_HZ).astype(np.float64)
        y *= rms / np.sqrt(np.mean(y**2))  # level matched: loudness is not what is scored
        y16 = librosa.resample(y, orig_sr=PART_RATE_HZ, target_sr=MOS_RATE_HZ)
        scores = segment_scores(np.clip(y16, -1.0, 1.0).astype(np.float32))
        base = scores if base is None else base
        diff = scores - base
        se = diff.std(axis=0, ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else diff[0] * 0
        cells = [f"{m:.3f} ({d:+.3f} +- {e:.3f})" for m, d, e in
                 zip(scores.mean(axis=0), diff.mean(axis=0), se, strict=True)]  # fmt: skip
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"({len(base)} segments of {SEGMENT_S} s; in brackets: the mean paired difference "
          "from dry +- its standard error)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routine", default="full")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--voice", default="piper-joe")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--background", default="none")
    parser.add_argument("--parts", type=Path, metavar="DRY.mp3", help="score the chain's parts")
    args = parser.parse_args()
    if args.parts:
        return score_parts(args.parts)
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
