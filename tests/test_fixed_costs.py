"""The CPU diet's per-build savings keep every figure and every byte: the bed envelope computed
only where it moves, per-channel mixing, and the cover and bed figures kept in the cache."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from pipeline.dsp import db_to_gain
from pipeline.publish.cover import cached_cover, draw_cover
from pipeline.sound import envelope, mix
from pipeline.sound.backgrounds import BedSpec
from pipeline.sound.bedcache import cached_bed_energies
from pipeline.sound.layers import per_channel
from pipeline.tuning import BED_DUCK_DB, DUCK_RAMP_S, FADE_IN_S, FADE_OUT_S

RATE = 44_100


def _envelope_as_written(frames: np.ndarray, speech: np.ndarray, total: int) -> np.ndarray:
    """The bed envelope's formula evaluated over every frame of every line's reach (how
    pipeline/sound/mix.py computed it before it skipped the frames where it cannot move)."""
    ramp = max(1, round(DUCK_RAMP_S * RATE))
    depth = np.zeros(frames.size)
    for start, end in speech:
        rise = np.clip((frames - (start - ramp)) / ramp, 0.0, 1.0)
        fall = np.clip(((end + ramp) - frames) / ramp, 0.0, 1.0)
        depth = np.maximum(depth, np.minimum(rise, fall))
    duck = 1.0 - (1.0 - db_to_gain(BED_DUCK_DB)) * depth
    fade_in = np.clip(frames / (FADE_IN_S * RATE), 0.0, 1.0)
    fade_out = np.clip((total - frames) / (FADE_OUT_S * RATE), 0.0, 1.0)
    return duck * np.sin(0.5 * np.pi * np.minimum(fade_in, fade_out))


@pytest.mark.parametrize("seed", range(4))
def test_bed_envelope_is_bit_identical_to_its_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    total = 90 * RATE
    starts = np.sort(rng.integers(0, total - 3 * RATE, 14))
    ends = starts + rng.integers(1, 3 * RATE, starts.size)  # some lines overlap, some touch
    speech = np.stack([starts, ends], axis=1).astype(np.int64)
    every = np.arange(total, dtype=np.int64)
    expected = _envelope_as_written(every, speech, total)
    for start in range(0, total, 2 * RATE):  # the renderer's blocks
        n = min(2 * RATE, total - start)
        got = envelope.bed_block_envelope(start, n, speech, total, RATE)
        want = expected[start : start + n]
        if got is None:
            assert np.all(want == 1.0)
        else:
            assert got.view(np.int64).tolist() == want.view(np.int64).tolist()
    points = np.arange(0, total, 441, dtype=np.int64)  # the 10 ms points the mix plan reads
    got = envelope.bed_envelope(points, speech, total, RATE)
    assert np.array_equal(got.view(np.int64), expected[points].view(np.int64))


def test_per_channel_mixing_equals_broadcasting() -> None:
    rng = np.random.default_rng(7)
    block = rng.standard_normal((10_000, 2)).astype(np.float32)
    mono = rng.standard_normal(10_000).astype(np.float32)
    for ufunc in (np.add, np.multiply):
        mixed = block.copy()
        per_channel(ufunc, mixed, mono)
        assert np.array_equal(mixed.view(np.int32), ufunc(block, mono[:, None]).view(np.int32))


def test_the_drawn_cover_is_kept_and_redrawn_when_damaged(tmp_path: Path) -> None:
    drawn = draw_cover("Sleep", "pmr sessions", "sleep")
    assert cached_cover("Sleep", "pmr sessions", "sleep", None) == drawn
    assert cached_cover("Sleep", "pmr sessions", "sleep", tmp_path) == drawn
    (kept,) = (tmp_path / "covers").iterdir()
    assert kept.read_bytes() == drawn
    assert cached_cover("Sleep", "pmr sessions", "sleep", tmp_path) == drawn  # read back
    other = cached_cover("Sleep", "Another series", "sleep", tmp_path)
    assert other != drawn and len(list((tmp_path / "covers").iterdir())) == 2
    kept.write_bytes(drawn[: len(drawn) // 2])  # a damaged entry is drawn again and replaced
    assert cached_cover("Sleep", "pmr sessions", "sleep", tmp_path) == drawn
    assert kept.read_bytes() == drawn


@pytest.mark.parametrize("name", ["pad", "pink", "ocean"])
def test_bed_figures_are_kept_exactly_and_measured_again_when_damaged(
    tmp_path: Path, name: str
) -> None:
    spec, frames = BedSpec(name), 12 * RATE
    measured = mix.bed_energies(spec, RATE, 2, 3, frames)
    assert measured.size == 12 * 10 - 3  # 400 ms blocks every 100 ms
    cached = cached_bed_energies(tmp_path)
    assert np.array_equal(cached(spec, RATE, 2, 3, frames), measured)
    (kept,) = (tmp_path / "beds").iterdir()
    assert np.array_equal(np.load(kept), measured)
    assert np.array_equal(cached(spec, RATE, 2, 3, frames), measured)  # read back
    cached(spec, RATE, 2, 4, frames)  # another seed is another entry
    assert len(list((tmp_path / "beds").iterdir())) == 2
    kept.write_bytes(kept.read_bytes()[:100])
    assert np.array_equal(cached(spec, RATE, 2, 3, frames), measured)
    assert np.array_equal(np.load(kept), measured)


def test_a_bed_from_a_file_is_measured_every_time(tmp_path: Path) -> None:
    wav = tmp_path / "bed.wav"
    tone = (np.sin(np.arange(3 * RATE) * 2 * np.pi * 220 / RATE) * 8000).astype("<i2")
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(tone.tobytes())
    spec = BedSpec(wav.name, wav)
    cache = tmp_path / "cache"
    got = cached_bed_energies(cache)(spec, RATE, 2, 0, 4 * RATE)
    assert np.array_equal(got, mix.bed_energies(spec, RATE, 2, 0, 4 * RATE))
    assert not (cache / "beds").exists()


def test_noise_loops_are_kept_in_the_cache_and_made_again_when_damaged(tmp_path: Path) -> None:
    """A build keeps the noise beds' loops in the cache; the next process maps the file instead
    of making the loop again, and gets the same samples; a damaged file is made again."""
    from pipeline.sound import backgrounds

    backgrounds.keep_loops_in(tmp_path)
    try:
        backgrounds.noise_loops.cache_clear()
        made = backgrounds.noise_loops("pink", 22_050, 3)
        [kept] = tmp_path.glob("loop-*.npy")
        backgrounds.noise_loops.cache_clear()  # as a new process would
        mapped = backgrounds.noise_loops("pink", 22_050, 3)
        assert isinstance(mapped[0], np.memmap) and not mapped[0].flags.writeable
        assert np.array_equal(mapped[0], made[0])
        assert np.array_equal(made[0], backgrounds.make_loops("pink", 22_050, 3)[0])
        kept.write_bytes(kept.read_bytes()[:1000])  # cut short
        backgrounds.noise_loops.cache_clear()
        again = backgrounds.noise_loops("pink", 22_050, 3)
        assert not isinstance(again[0], np.memmap) and np.array_equal(again[0], made[0])
    finally:
        backgrounds.keep_loops_in(None)
        backgrounds.noise_loops.cache_clear()
