"""The chunks' two MP3 encoders on the same session PCM: ffmpeg's libmp3lame, and the lameenc
wheel's libmp3lame called in-process (pipeline/lame.py), with the same settings.

    python scripts/measure_encoders.py [--routine sleep] [--minutes 20] [--seconds 300]

Renders the first `--seconds` of a session with pmr's renderer, encodes it at 128k CBR with the
bit reservoir on and off by each encoder (ffmpeg piped the float PCM as pmr pipes it; LAME fed
the same 2 s blocks in this process), then decodes every stream with ffmpeg and measures it
against the source after the decoder's delay: CPU seconds of the encode (ffmpeg's whole
process, all its threads; LAME's calls in this one), the level (the least-squares gain of the
decoded audio over the source, dB) and the SNR of every 20 ms window once that gain is taken
out (1st and 10th percentile, median, worst). Figures go to stdout and
output/encoders/encoders.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import children_cpu  # noqa: E402
from measure_joins import decode, delay, encode, session_pcm, window_snr  # noqa: E402

from pipeline.lame import LameEncoder, kbps  # noqa: E402
from pipeline.tuning import BLOCK_FRAMES, MP3_BITRATE, SAMPLE_RATE_HZ  # noqa: E402

OUT = ROOT / "output" / "encoders"


def ffmpeg_encode(pcm: np.ndarray, reservoir: bool) -> tuple[bytes, float]:
    """measure_joins' ffmpeg encode of `pcm`, with the CPU seconds its process took."""
    before = children_cpu()
    stream = encode(pcm, reservoir)
    return stream, children_cpu() - before


def lame_encode(pcm: np.ndarray, reservoir: bool) -> tuple[bytes, float]:
    pieces = []
    start = time.process_time()
    with LameEncoder(SAMPLE_RATE_HZ, pcm.shape[1], kbps(MP3_BITRATE), reservoir=reservoir,
                     info_frame=False) as encoder:  # fmt: skip
        for at in range(0, pcm.shape[0], BLOCK_FRAMES):
            pieces.append(encoder.encode(pcm[at : at + BLOCK_FRAMES]))
        pieces.append(encoder.flush())
    return b"".join(pieces), time.process_time() - start


def figures(stream: bytes, pcm: np.ndarray, cpu_s: float) -> dict[str, float]:
    decoded = decode(stream, pcm.shape[1])
    lag = delay(decoded, pcm)
    n = min(pcm.shape[0], decoded.shape[0] - lag)
    source, audio = pcm[:n].astype(np.float64), decoded[lag : lag + n].astype(np.float64)
    gain = float((audio * source).sum() / (source * source).sum())
    snr = window_snr((audio / gain).astype(np.float32), pcm[:n], 0, SAMPLE_RATE_HZ // 50)
    return {
        "cpu_s": cpu_s, "level_db": 20 * np.log10(gain), "decoder_delay": lag,
        "snr_p1_db": float(np.nanpercentile(snr, 1)),
        "snr_p10_db": float(np.nanpercentile(snr, 10)),
        "snr_median_db": float(np.nanmedian(snr)), "snr_worst_db": float(np.nanmin(snr)),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routine", default="sleep")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    pcm = session_pcm(args.routine, args.minutes, args.seconds)
    print(f"{args.routine} -m {args.minutes:g}, first {pcm.shape[0] / SAMPLE_RATE_HZ:.0f} s, "
          f"{MP3_BITRATE} CBR")  # fmt: skip
    report = {}
    for reservoir in (False, True):
        for name, encoder in (("ffmpeg", ffmpeg_encode), ("in-process LAME", lame_encode)):
            label = f"{name}, reservoir {'on' if reservoir else 'off'}"
            stream, cpu_s = encoder(pcm, reservoir)
            report[label] = figures(stream, pcm, cpu_s)
            print(f"  {label:<30} " + "  ".join(f"{k} {v:.2f}" for k, v in report[label].items()))
    (OUT / "encoders.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
