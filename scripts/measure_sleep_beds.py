"""Which background suits falling asleep? Measures every built-in bed, as a build renders it.

For a sleep bed we want: little energy where hearing is most sensitive and hiss is alerting
(2-5 kHz), a low spectral centroid, no tonal beating that asks for attention, and slow, even
level changes (short-term loudness range). Prints one row per bed; the sleep routine's
`[routine] background` is chosen from this table (see README, "Built-in routines").

    .venv/bin/python scripts/measure_sleep_beds.py [seconds]
"""

from __future__ import annotations

import sys

import numpy as np

from pipeline.sound.backgrounds import BACKGROUNDS, make_bed, resolve

RATE = 44_100


def measure(name: str, seconds: float) -> dict[str, float]:
    bed = make_bed(resolve(name), RATE, 2, seed=0)
    audio = np.concatenate([bed.render(RATE) for _ in range(int(seconds))]).mean(axis=1)
    power = np.abs(np.fft.rfft(audio * np.hanning(audio.size))) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1 / RATE)
    total = power.sum() or 1.0
    band = power[(freqs >= 2000) & (freqs <= 5000)].sum() / total
    centroid = float((freqs * power).sum() / total)
    # short-term level (3 s windows, 1 s hop): the spread of its 10th..95th percentiles, in dB
    window, hop = 3 * RATE, RATE
    levels = [
        10 * np.log10(np.mean(audio[i : i + window] ** 2) + 1e-20)
        for i in range(0, audio.size - window, hop)
    ]
    spread = float(np.percentile(levels, 95) - np.percentile(levels, 10))
    # the envelope's strongest modulation between 0.5 and 20 Hz (beats, tremolo)
    envelope = np.abs(audio).reshape(-1, RATE // 100).mean(axis=1)
    spectrum = np.abs(np.fft.rfft(envelope - envelope.mean()))
    mod_freqs = np.fft.rfftfreq(envelope.size, 1 / 100)
    fast = (mod_freqs >= 0.5) & (mod_freqs <= 20)
    modulation = float(spectrum[fast].max() / (spectrum.sum() or 1.0))
    return {
        "centroid_hz": centroid,
        "band_2k_5k_pct": 100 * band,
        "level_spread_db": spread,
        "fast_modulation": 100 * modulation,
    }


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    print(f"{'bed':<16} {'centroid Hz':>11} {'2-5 kHz %':>9} {'spread dB':>9} {'fast mod %':>10}")
    for name in BACKGROUNDS:
        if name == "none":
            continue
        m = measure(name, seconds)
        print(
            f"{name:<16} {m['centroid_hz']:>11.0f} {m['band_2k_5k_pct']:>9.2f} "
            f"{m['level_spread_db']:>9.1f} {m['fast_modulation']:>10.2f}"
        )


if __name__ == "__main__":
    main()
