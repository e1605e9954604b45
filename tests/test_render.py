"""Position-addressable rendering: any block of a session, rendered on its own, in any order
or in another process, is bit-identical to the serial render (what chunked encoding needs)."""

from __future__ import annotations

import itertools
import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from pipeline.build import BuildOptions, build
from pipeline.fit import Timeline
from pipeline.render import Renderer, render_blocks
from pipeline.sound.backgrounds import BACKGROUNDS, NOISE_LOOP_FRAMES, BedSpec, make_bed
from pipeline.sound.layers import block_spans
from pipeline.sound.mix import MixScore

from .conftest import SHORT_ROUTINE

RATE = 44_100
BLOCK = RATE // 2  # many blocks in a short session
# short relax pauses: speech, ducking and limiting most of the time
DENSE = SHORT_ROUTINE.replace(
    "relax = { min = 15, default = 16, max = 40 }", "relax = { min = 3, default = 4, max = 40 }"
)


@pytest.mark.parametrize("name", [n for n in BACKGROUNDS if n != "none"])
def test_bed_blocks_in_shuffled_order_equal_the_stream(name: str) -> None:
    spans = [(start, BLOCK) for start in range(0, 12 * BLOCK, BLOCK)]
    stream = make_bed(BedSpec(name), RATE, 2, seed=5)
    serial = [stream.render(n) for _, n in spans]
    order = list(range(len(spans)))
    random.Random(1).shuffle(order)
    alone = make_bed(BedSpec(name), RATE, 2, seed=5)
    shuffled = {i: alone.block(*spans[i]) for i in order}
    for i, block in enumerate(serial):
        assert np.array_equal(shuffled[i], block), (name, i)
    fresh = make_bed(BedSpec(name), RATE, 2, seed=5).block(*spans[7])  # nothing drawn before
    assert np.array_equal(fresh, serial[7])
    other = make_bed(BedSpec(name), RATE, 2, seed=6).block(*spans[7])
    assert name.startswith(("pad", "binaural")) or not np.array_equal(other, serial[7])


@pytest.mark.parametrize("name", ["pink", "brown", "ocean"])
def test_noise_blocks_cross_the_loops_end_seamlessly(name: str) -> None:
    period = NOISE_LOOP_FRAMES
    bed = make_bed(BedSpec(name), RATE, 2, seed=5)
    across = bed.block(period - RATE, 2 * RATE)  # one second either side of the loop's end
    parts = np.concatenate([bed.block(period - RATE, RATE - 7), bed.block(period - 7, RATE + 7)])
    assert np.array_equal(across, parts)
    again = make_bed(BedSpec(name), RATE, 2, seed=5)
    assert np.array_equal(again.block(period - RATE, 2 * RATE), across)
    # the end runs into the start: no step at the seam larger than the noise's own steps
    step = np.abs(np.diff(across.astype(np.float64), axis=0)).max(axis=1)
    near = step[RATE - 65 : RATE + 64].max()
    assert near <= np.percentile(np.delete(step, range(RATE - 65, RATE + 64)), 99.9)
    if name != "ocean":  # the ocean's waves follow absolute time, not the loop
        assert np.array_equal(across[RATE:], bed.block(0, RATE))


def test_noise_loop_is_made_once_and_blocks_are_the_callers_own() -> None:
    first = make_bed(BedSpec("ocean"), RATE, 2, seed=9)
    second = make_bed(BedSpec("ocean"), RATE, 1, seed=9)
    assert all(a is b for a, b in zip(first.loops, second.loops, strict=True))  # reused
    assert not any(loop.flags.writeable for loop in first.loops)
    block = first.block(1000, BLOCK)
    block *= 0.0  # the session's layer scales its bed block in place
    assert np.abs(first.block(1000, BLOCK)).max() > 0
    mono = second.block(1000, BLOCK)
    assert mono.shape == (BLOCK, 1)
    assert np.allclose(mono[:, 0], first.block(1000, BLOCK).mean(axis=1))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, module_cache: Path) -> tuple:
    folder = tmp_path_factory.mktemp("render")
    routine = folder / "dense.toml"
    routine.write_text(DENSE, encoding="utf-8")
    result = build(
        BuildOptions(
            routine=str(routine), minutes=0.9, out=folder / "s.mp3", cache_dir=module_cache,
            background="ocean", measure=False, sidecars=False,
        )
    )  # fmt: skip
    assert result.score is not None and result.score.limited_clips >= 0
    return result.timeline, result.score


def test_session_blocks_in_shuffled_order_equal_the_serial_render(session: tuple) -> None:
    timeline, score = session
    serial = np.concatenate(list(render_blocks(timeline, score, BLOCK)))
    spans = list(block_spans(timeline.total, BLOCK))
    order = list(range(len(spans)))
    random.Random(2).shuffle(order)
    renderer = Renderer(timeline, score)
    blocks = {i: renderer.block(*spans[i]) for i in order}
    shuffled = np.concatenate([blocks[i] for i in range(len(spans))])
    assert shuffled.shape == serial.shape == (timeline.total, score.channels)
    assert np.array_equal(shuffled, serial)
    assert np.sqrt(np.mean(serial.astype(np.float64) ** 2)) > 1e-3  # voice and bed, not silence


def _chunk(timeline: Timeline, score: MixScore, spans: list[tuple[int, int]]) -> np.ndarray:
    renderer = Renderer(timeline, score)
    return np.concatenate([renderer.block(start, n) for start, n in spans])


def test_chunks_rendered_by_separate_processes_equal_the_serial_render(session: tuple) -> None:
    timeline, score = session
    serial = np.concatenate(list(render_blocks(timeline, score, BLOCK)))
    spans = list(block_spans(timeline.total, BLOCK))
    cut = [0, len(spans) // 3, 2 * len(spans) // 3, len(spans)]
    chunks = [spans[a:b] for a, b in itertools.pairwise(cut)]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no state shared
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        parts = list(pool.map(_chunk, *zip(*[(timeline, score, c) for c in chunks], strict=True)))
    assert np.array_equal(np.concatenate(parts), serial)


# --- the lossless master ------------------------------------------------------------------


def _dense_build(folder: Path, cache_dir: Path, **options) -> object:
    routine = folder / "dense.toml"
    routine.write_text(DENSE, encoding="utf-8")
    return build(
        BuildOptions(routine=str(routine), minutes=0.9, out=folder / "s.mp3", cache_dir=cache_dir,
                     background="ocean", sidecars=False, **options)
    )  # fmt: skip


def test_master_wav_is_the_exact_pcm_and_lines_up_with_the_mp3(
    tmp_path: Path, cache_dir: Path, decode_mp3
) -> None:
    result = _dense_build(tmp_path, cache_dir, master=tmp_path / "s.wav", measure=False)
    pcm = np.concatenate(list(render_blocks(result.timeline, result.score)))
    master = decode_mp3(tmp_path / "s.wav").samples  # ffmpeg reads the WAV back
    assert master.shape == pcm.shape == (result.timeline.total, 2)
    assert np.array_equal(master, pcm)  # 32-bit float: bit for bit
    mp3 = decode_mp3(tmp_path / "s.mp3").samples
    assert mp3.shape == master.shape  # the LAME tag's delay and padding: gapless, same length
    a, b = mp3[:, 0].astype(np.float64), master[:, 0].astype(np.float64)
    size = 1 << (2 * a.size).bit_length()
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lags = np.concatenate([corr[-2000:], corr[:2000]])
    assert int(np.argmax(lags)) - 2000 == 0  # sample for sample once the delay is removed
    snr = 10 * np.log10(np.sum(b**2) / np.sum((a - b) ** 2))
    assert snr > 15, snr


def test_master_flac_holds_the_pcm_at_24_bits(tmp_path: Path, cache_dir: Path, decode_mp3) -> None:
    result = _dense_build(tmp_path, cache_dir, master=tmp_path / "s.flac", measure=False)
    pcm = np.concatenate(list(render_blocks(result.timeline, result.score)))
    master = decode_mp3(tmp_path / "s.flac").samples
    assert master.shape == pcm.shape
    assert np.abs(master - pcm).max() <= 2.0**-23  # within one 24-bit step


def test_master_mistakes_exit_2_and_leave_files_alone(tmp_path: Path, mini_routine: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    runner = CliRunner()
    base = ["build", str(mini_routine), "-m", "1.1", "-o", str(tmp_path / "s.mp3")]
    bad = runner.invoke(app, [*base, "--master", str(tmp_path / "s.mp4")])
    assert bad.exit_code == 2 and "pmr: error: --master" in bad.output and ".flac" in bad.output
    theirs = tmp_path / "mine.wav"
    theirs.write_bytes(b"not pmr's")
    kept = runner.invoke(app, [*base, "--master", str(theirs)])
    assert kept.exit_code == 2 and "pmr did not write it" in kept.output, kept.output
    assert theirs.read_bytes() == b"not pmr's" and not (tmp_path / "s.mp3").exists()
