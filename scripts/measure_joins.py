"""Can a session be MP3-encoded in chunks and joined without a seam? Measured on real pmr PCM.

    python scripts/measure_joins.py [--routine full] [--minutes 10] [--seconds 120]

Renders the first `--seconds` of a session with pmr's own renderer (warm narration cache),
then encodes it with pmr's encoder settings (ffmpeg's libmp3lame, CBR) as:
- one pass, bit reservoir on (pmr today) and off;
- two halves with the reservoir off, the second starting P frames (1152 samples) before the
  join frame and its first P frames dropped, joined at the frame boundary (P = 0 to 3).
Chunk one is encoded two frames past the join so its last kept frames see what follows.
Every stream is written raw (no Xing/LAME frame, no ID3), decoded by ffmpeg and compared with
the source after the decoder's delay: decoded length, SNR per window (0.1 s and 20 ms: the
worst window from a frame before the join to two after, the worst anywhere, the 10th
percentile), and the largest sample difference
near the join against the one-pass decode (in 1/32768). Figures go to stdout and
output/joins/joins.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.encode import ffmpeg_exe  # noqa: E402
from pipeline.tuning import MP3_BITRATE, SAMPLE_RATE_HZ  # noqa: E402

FRAME = 1152
OUT = ROOT / "output" / "joins"
BITRATES = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)}
RATES = {0: 44100, 1: 48000, 2: 32000}


def session_pcm(routine: str, minutes: float, seconds: float) -> np.ndarray:
    """The first `seconds` of the session pmr builds, as its renderer makes it."""
    from pipeline.build import (
        BuildOptions,
        mix_settings,
        narrate_at_pace,
        session_script,
        session_seconds,
        with_routine_defaults,
    )
    from pipeline.fit import fit
    from pipeline.narration import load_voice
    from pipeline.render import Renderer
    from pipeline.sound.mix import score_mix
    from pipeline.sound.voice import load_voice_clips
    from pipeline.sound.voicechain import SYNTHETIC_ENGINES, chain_for

    options = BuildOptions(routine=routine, minutes=minutes)
    voice = load_voice(options.voice)
    script = session_script(options, voice.language)
    options = with_routine_defaults(options, script)
    rate = options.rate_hz
    clips = narrate_at_pace(options, script, voice, rate)
    timeline = fit(script, clips.frames, rate, session_seconds(options, script, clips.frames, rate))
    chains = {i: chain_for("none") for i, e in clips.engines.items() if e in SYNTHETIC_ENGINES}
    score = score_mix(timeline, load_voice_clips(clips.paths, rate, chains), mix_settings(options))
    n = min(timeline.total, round(seconds * rate))
    return Renderer(timeline, score).block(0, n)


def encode(pcm: np.ndarray, reservoir: bool) -> bytes:
    command = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "f32le",
        "-ar", str(SAMPLE_RATE_HZ), "-ac", str(pcm.shape[1]), "-i", "pipe:0",
        "-c:a", "libmp3lame", "-b:a", MP3_BITRATE, "-reservoir", str(int(reservoir)),
        "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", "pipe:1",
    ]  # fmt: skip
    return subprocess.run(command, input=pcm.astype("<f4").tobytes(), capture_output=True,
                          check=True).stdout  # fmt: skip


def frames(stream: bytes) -> list[bytes]:
    """The MPEG-1 Layer III frames of a raw stream, split at their headers."""
    out, at = [], 0
    while at + 4 <= len(stream):
        b1, b2 = stream[at + 1], stream[at + 2]
        if stream[at] != 0xFF or (b1 & 0xE0) != 0xE0:
            raise ValueError(f"no frame header at byte {at}")
        bitrate = BITRATES[1][b2 >> 4] * 1000
        size = 144 * bitrate // RATES[(b2 >> 2) & 3] + ((b2 >> 1) & 1)
        out.append(stream[at : at + size])
        at += size
    return out


def decode(stream: bytes, channels: int) -> np.ndarray:
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "warning", "-f", "mp3", "-i", "pipe:0",
               "-f", "f32le", "-ac", str(channels), "pipe:1"]  # fmt: skip
    run = subprocess.run(command, input=stream, capture_output=True, check=True)
    if run.stderr.strip():
        print("  ffmpeg:", run.stderr.decode(errors="replace").strip().splitlines()[-1])
    return np.frombuffer(run.stdout, dtype="<f4").reshape(-1, channels)


def delay(decoded: np.ndarray, source: np.ndarray) -> int:
    """The decoder's output delay, by cross-correlating the first 20 s of the mono sums."""
    a, b = decoded[: 20 * SAMPLE_RATE_HZ].mean(axis=1), source[: 20 * SAMPLE_RATE_HZ].mean(axis=1)
    size = 1 << (a.size + b.size).bit_length()
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    return int(np.argmax(corr[:4096]))


def window_snr(decoded: np.ndarray, source: np.ndarray, lag: int, width: int) -> np.ndarray:
    """SNR (dB) against the source in each window of `width` frames (silent windows: nan)."""
    n = min(source.shape[0], decoded.shape[0] - lag) // width * width
    ref = source[:n].astype(np.float64)
    err = decoded[lag : lag + n].astype(np.float64) - ref
    signal = (ref**2).reshape(-1, width * ref.shape[1]).sum(axis=1)
    noise = (err**2).reshape(-1, width * ref.shape[1]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = 10 * np.log10(signal / noise)
    return np.where(signal > 1e-9, snr, np.nan)


def joined(pcm: np.ndarray, join: int, pre: int) -> bytes:
    first = frames(encode(pcm[: (join + 2) * FRAME], reservoir=False))[:join]
    second = frames(encode(pcm[(join - pre) * FRAME :], reservoir=False))[pre:]
    return b"".join(first + second)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routine", default="full")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    pcm = session_pcm(args.routine, args.minutes, args.seconds)
    channels, join = pcm.shape[1], round(pcm.shape[0] / 2 / FRAME)
    streams = {
        "one pass, reservoir on": encode(pcm, True),
        "one pass, reservoir off": encode(pcm, False),
    }
    for pre in (0, 1, 2, 3):
        streams[f"2 chunks, pre-roll {pre}"] = joined(pcm, join, pre)
    decoded = {name: decode(s, channels) for name, s in streams.items()}
    reference = decoded["one pass, reservoir off"]
    lag = delay(reference, pcm)
    at = join * FRAME - lag  # the join, in source frames
    report = {"source_frames": pcm.shape[0], "join_frame": join, "join_sample": at,
              "decoder_delay": lag, "streams": {}}  # fmt: skip
    print(f"{args.routine} -m {args.minutes:g}, first {pcm.shape[0] / SAMPLE_RATE_HZ:.0f} s; "
          f"join at MP3 frame {join} (source sample {at}); decoder delay {lag}")  # fmt: skip
    for name, audio in decoded.items():
        figures = {"decoded_frames": audio.shape[0]}
        for label, width in (("100ms", SAMPLE_RATE_HZ // 10), ("20ms", SAMPLE_RATE_HZ // 50)):
            snr = window_snr(audio, pcm, lag, width)
            near_join = snr[(at - FRAME) // width : (at + 2 * FRAME) // width + 1]
            figures[f"join_db_{label}"] = float(np.nanmin(near_join))  # worst window there
            figures[f"worst_db_{label}"] = float(np.nanmin(snr))
            figures[f"p10_db_{label}"] = float(np.nanpercentile(snr, 10))
        near = slice(at + lag - 4 * FRAME, at + lag + 4 * FRAME)
        figures["max_diff_vs_one_pass_off_x32768"] = float(
            np.abs(audio[near] - reference[near]).max() * 32768
        )
        report["streams"][name] = figures
        print(f"  {name:<24} " + "  ".join(f"{k} {v:.1f}" if isinstance(v, float) else
                                             f"{k} {v}" for k, v in figures.items()))  # fmt: skip
    (OUT / "joins.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
