"""Chunked encoding (--jobs N): the joined MP3 against the single-pass MP3 and the lossless
PCM, decoded by ffmpeg and measured window by window; its Xing/LAME header read by hand."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from pipeline.build import BuildOptions, build
from pipeline.chunked import (
    FRAME,
    MAX_CHUNK_FRAMES,
    PRE_ROLL,
    TAIL_CHUNK_FRAMES,
    chunk_encoder,
    lame_chunk,
    plan_chunks,
)
from pipeline.encode import ffmpeg_exe
from pipeline.render import render_blocks
from pipeline.tuning import MP3_BITRATE

from .test_reliability import long_build as long_build
from .test_reliability import pmr

RATE = 44_100
WINDOW = RATE // 50  # 20 ms


def test_chunks_cover_the_session_in_whole_frames_with_pre_and_post_roll() -> None:
    total = 10 * 60 * RATE + 123
    chunks = plan_chunks(total, 3)
    assert len(chunks) > 3 and chunks[0].start == 0 and chunks[-1].end == total
    for a, b in itertools.pairwise(chunks):
        assert a.stop == b.first  # kept frames meet exactly
        assert b.start == (b.first - PRE_ROLL) * FRAME and b.skip == PRE_ROLL  # the pre-roll
        assert a.end == (a.stop + 2) * FRAME  # two frames past the last kept one
    assert len(plan_chunks(60 * RATE, 4)) == 1  # a minute: not worth splitting
    assert len(plan_chunks(total, 1)) == 1  # one worker: the serial path's one stream
    for minutes in (5, 20, 60, 120, 180):
        frames = -(-round(minutes * 60 * RATE) // FRAME)
        planned = plan_chunks(round(minutes * 60 * RATE), 2)
        kept = [(c.stop or frames) - c.first for c in planned]
        assert sum(kept) == frames
        assert max(kept) <= MAX_CHUNK_FRAMES  # what the join holds stays flat
        assert min(kept) >= TAIL_CHUNK_FRAMES
        assert all(a >= b for a, b in itertools.pairwise(kept[:-1]))  # shrinking (the last
        # takes what is left: under two tail chunks)
        assert max(kept[-3:]) < 2 * TAIL_CHUNK_FRAMES  # the workers end within ~0.3 s


def _lame_tag(path: Path) -> tuple[int, int, int]:
    """(frames, encoder delay, end padding) from the file's Xing/LAME frame, read by hand."""
    data = path.read_bytes()
    at = 0
    if data[:3] == b"ID3":
        at = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    tag = data.index(b"Info", at, at + 64)
    (count,) = struct.unpack(">I", data[tag + 8 : tag + 12])
    packed = int.from_bytes(data[tag + 141 : tag + 144], "big")
    return count, packed >> 12, packed & 0xFFF


def _decode(path: Path) -> np.ndarray:
    run = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-v", "warning", "-i", str(path), "-f", "f32le",
         "-ac", "2", "pipe:1"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert run.stderr.decode().strip() == "", run.stderr  # ffmpeg decodes it without a word
    return np.frombuffer(run.stdout, dtype="<f4").reshape(-1, 2).astype(np.float64)


def _windows_db(decoded: np.ndarray, source: np.ndarray) -> np.ndarray:
    n = source.shape[0] // WINDOW * WINDOW
    signal = (source[:n] ** 2).reshape(-1, 2 * WINDOW).sum(axis=1)
    noise = ((decoded[:n] - source[:n]) ** 2).reshape(-1, 2 * WINDOW).sum(axis=1)
    loud = signal > 1e-6 * 2 * WINDOW
    return np.where(loud, 10 * np.log10(signal / np.maximum(noise, 1e-30)), np.nan)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, module_cache: Path, mini_text: str) -> tuple:
    folder = tmp_path_factory.mktemp("chunked")
    routine = folder / "mini.toml"
    routine.write_text(mini_text, encoding="utf-8")
    results = {}
    for jobs in (1, 2):
        results[jobs] = build(
            BuildOptions(routine=str(routine), minutes=2.0, out=folder / f"j{jobs}.mp3",
                         cache_dir=module_cache, background="pink", jobs=jobs)
        )  # fmt: skip
    return results


@pytest.fixture(scope="module")
def mini_text() -> str:
    from .conftest import SHORT_ROUTINE

    return SHORT_ROUTINE


def test_chunked_mp3_is_seamless_against_the_lossless_pcm(pair: dict) -> None:
    serial, chunked = pair[1], pair[2]
    total = chunked.timeline.total
    assert len(plan_chunks(total, 2)) > 1  # the build really was split
    pcm = np.concatenate(list(render_blocks(chunked.timeline, chunked.score))).astype(np.float64)
    one, two = _decode(serial.path), _decode(chunked.path)
    assert one.shape == two.shape == pcm.shape == (total, 2)  # exact to the sample
    flat = _decode(_one_pass_without_reservoir(pcm, folder=chunked.path.parent))
    single, joined = _windows_db(one, pcm), _windows_db(two, pcm)
    unjoined = _windows_db(flat, pcm)
    joins = [c.first * FRAME - 1105 for c in plan_chunks(total, 2)[1:]]  # source frames
    worst = int(np.nanargmin(joined))
    # The bit reservoir is off in chunks: a transient's frame gets no borrowed bits, which
    # costs a window up to ~4 dB against the reservoir-on pass wherever it falls (the fresh
    # narration of each test run moves it: 0.8 dB one run, 3.7 dB another). So the joined file
    # is held to one pass with the reservoir off, window by window, and to the reservoir-on
    # pass in its 10th percentile and median.
    # (a click costs ~15 dB; the join moves a window by up to ~1 dB against the flat pass)
    assert np.nanmin(joined) >= np.nanmin(unjoined) - 2.0, (worst * WINDOW, joins, unjoined[worst])
    for join in joins:  # the windows at every join sound as the same encoder's one pass does
        around = slice((join - 2 * FRAME) // WINDOW, (join + 2 * FRAME) // WINDOW + 1)
        ok = np.isnan(unjoined[around]) | (joined[around] >= unjoined[around] - 2.0)
        assert np.all(ok), (join, joined[around], unjoined[around])  # a click: -15 dB
    assert np.nanpercentile(joined, 10) >= np.nanpercentile(single, 10) - 1.0
    assert np.nanmedian(joined) >= np.nanmedian(single) - 1.0


def _one_pass_without_reservoir(pcm: np.ndarray, folder: Path) -> Path:
    """The lossless PCM encoded in one pass by the chunks' encoder with their settings (128k
    CBR, bit reservoir off): what the joined file would be with no join at all."""
    out = folder / "one-pass-no-reservoir.mp3"
    if chunk_encoder() == "lame":
        with lame_chunk(RATE, 2, MP3_BITRATE, True, out, out) as put:  # a chunk with no join
            put(pcm.astype(np.float32))
        return out
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "f32le", "-ar", str(RATE),
         "-ac", "2", "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", MP3_BITRATE,
         "-reservoir", "0", str(out)],
        input=pcm.astype("<f4").tobytes(), check=True,
    )  # fmt: skip
    return out


def test_chunked_mp3_has_one_correct_lame_header_tags_and_chapters(pair: dict) -> None:
    serial, chunked = pair[1], pair[2]
    total = chunked.timeline.total
    count, delay, padding = _lame_tag(chunked.path)
    assert count * FRAME - delay - padding == total  # a gapless player's view
    data = chunked.path.read_bytes()
    tag = data.index(b"Info")
    toc = list(data[tag + 16 : tag + 116])  # CBR: i % of the time starts at ~i % of the bytes
    assert toc == sorted(toc) and all(abs(t - 2.56 * i) <= 2 for i, t in enumerate(toc)), toc
    assert _lame_tag(serial.path)[0] == count  # as many frames as one pass

    def probe(path: Path) -> str:
        return subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                              capture_output=True, text=True).stderr  # fmt: skip

    one, two = probe(serial.path), probe(chunked.path)
    assert two.count("Chapter #") == one.count("Chapter #") > 0
    assert "made by pmr" in two and "attached pic" in two


def test_a_bitrate_too_low_for_a_lame_frame_builds_serially(
    tmp_path: Path, module_cache: Path, mini_text: str
) -> None:
    """56k stereo frames (182 bytes at 44.1 kHz) can't hold a Xing/LAME frame, which a joined
    stream needs for its length: --jobs 2 builds serially, exact to the sample."""
    routine = tmp_path / "mini.toml"
    routine.write_text(mini_text, encoding="utf-8")
    result = build(BuildOptions(routine=str(routine), minutes=2.0, out=tmp_path / "low.mp3",
                                cache_dir=module_cache, bitrate="56k", jobs=2))  # fmt: skip
    assert _decode(result.path).shape == (result.timeline.total, 2)  # (chunked, it failed)


def test_a_mono_session_is_chunked_too(tmp_path: Path, module_cache: Path, mini_text: str) -> None:
    """--mono: one channel through LAME's planar call, the same exact length and a clean
    decode."""
    routine = tmp_path / "mini.toml"
    routine.write_text(mini_text, encoding="utf-8")
    result = build(BuildOptions(routine=str(routine), minutes=2.0, out=tmp_path / "m.mp3",
                                cache_dir=module_cache, mono=True, jobs=2))  # fmt: skip
    assert len(plan_chunks(result.timeline.total, 2)) > 1 and chunk_encoder() == "lame"
    run = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-v", "warning", "-i", str(result.path), "-f", "f32le",
         "pipe:1"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert run.stderr.decode().strip() == ""
    decoded = np.frombuffer(run.stdout, dtype="<f4")
    assert decoded.size == result.timeline.total  # one channel, exact to the sample
    count, delay, padding = _lame_tag(result.path)
    assert count * FRAME - delay - padding == result.timeline.total
    pcm = np.concatenate(list(render_blocks(result.timeline, result.score))).astype(np.float64)
    as_pair = np.repeat(decoded.astype(np.float64)[:, None], 2, axis=1)  # _windows_db's shape
    snr = _windows_db(as_pair, np.repeat(pcm, 2, axis=1))
    assert np.nanpercentile(snr, 10) > 15  # the session's audio in every stretch, not noise


def _ffmpeg_r128(path: Path) -> tuple[float, float]:
    """(integrated LUFS to 3 decimals, true peak dBTP) of the whole decoded file, by ffmpeg."""
    run = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=peak=true:metadata=1,ametadata=mode=print:key=lavfi.r128.I", "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    lufs = float(re.findall(r"lavfi\.r128\.I=(\S+)", run.stderr)[-1])
    return lufs, float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", run.stderr)[1])


def test_the_builds_meter_reads_what_ffmpeg_reads_in_the_whole_decoded_file(pair: dict) -> None:
    """Serial and chunked builds meter the PCM as they render it (and the true peak only
    around the loudest steps); the decoded file, metered whole, must say the same."""
    serial, chunked = pair[1], pair[2]
    for result in (serial, chunked):
        lufs, peak = _ffmpeg_r128(result.path)
        assert result.measured is not None
        assert abs(result.measured.lufs - lufs) <= 0.05, (result.measured, lufs)
        # both true peaks are ebur128's, to 0.1 dB: -2.2 against -2.0 is 0.2 plus a float's ulp
        assert abs(result.measured.true_peak_db - peak) <= 0.2 + 1e-9, (result.measured, peak)
    assert chunked.measured is not None and serial.measured is not None
    assert abs(chunked.measured.lufs - serial.measured.lufs) <= 0.01  # every step metered once


@pytest.mark.parametrize("rate, channels", [(44_100, 2), (48_000, 2), (22_050, 1)])
def test_each_steps_momentary_loudness_is_ebur128s_for_the_same_pcm(
    pair: dict, tmp_path: Path, rate: int, channels: int
) -> None:
    """pmr's meter (K-weighting a block at a time) against ffmpeg's ebur128 log of the same
    PCM, step by step: the session's blocks, and the same PCM cut into odd pieces."""
    from pipeline.sound.meter import WINDOW_STEPS, StepMeter

    result = pair[1]
    pcm = np.concatenate(list(render_blocks(result.timeline, result.score)))[: 40 * RATE]
    if rate != RATE:  # another rate and layout: the same audio through ffmpeg's resampler
        run = subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-f", "f32le", "-ar", str(RATE), "-ac", "2", "-i",
             "pipe:0", "-ar", str(rate), "-ac", str(channels), "-f", "f32le", "pipe:1"],
            input=pcm.astype("<f4").tobytes(), capture_output=True, check=True,
        )  # fmt: skip
        pcm = np.frombuffer(run.stdout, "<f4").reshape(-1, channels)
    run = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-f", "f32le", "-ar", str(rate), "-ac", str(channels),
         "-i", "pipe:0", "-af", "ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.M",
         "-f", "null", "-"],
        input=pcm.astype("<f4").tobytes(), capture_output=True, check=True,
    )  # fmt: skip
    theirs = np.array([float(v) for v in re.findall(r"lavfi\.r128\.M=(\S+)", run.stderr.decode())])
    for pieces in (np.arange(0, pcm.shape[0], 2 * rate), [0, 777, 5000, 91_011, 300_000]):
        meter = StepMeter(rate, channels)
        for a, b in itertools.pairwise([*pieces, pcm.shape[0]]):
            meter.add(pcm[a:b])
        ours = meter.steps().momentary
        n = min(ours.size, theirs.size)
        assert n >= pcm.shape[0] // (rate // 10) - 1
        audible = (theirs[:n] > -70) & (np.arange(n) >= WINDOW_STEPS - 1)
        assert audible.sum() > n // 2
        worst = np.max(np.abs(ours[:n][audible] - theirs[:n][audible]))
        assert worst <= 0.0015, (rate, channels, worst)  # ebur128 logs 3 decimals


def _decode_stretch(source: str) -> np.ndarray:
    command = [ffmpeg_exe(), "-v", "error", "-f", "mp3", "-i", source, "-f", "f32le", "-"]
    run = subprocess.run(command, capture_output=True, check=True)
    return np.frombuffer(run.stdout, "<f4").reshape(-1, 2)


def test_each_true_peak_stretch_decodes_to_the_whole_files_own_samples(pair: dict) -> None:
    """The true peak meter decodes stretches of the finished MP3 from a frame's first byte (no
    seeking); where its fade-in starts, a stretch must be the whole file's decode, sample for
    sample, at the step's place: in the serial file (bit reservoir on) and the joined one."""
    from pipeline.sound.meter import PEAK_BEFORE_S, peak_stretches, step_frames

    for result in (pair[1], pair[2]):
        whole = _decode(result.path)
        steps = whole.shape[0] // step_frames(RATE)
        join = plan_chunks(result.timeline.total, 2)[1].first * FRAME // step_frames(RATE)
        with open(result.path, "rb") as file:
            data = file.read()
        chosen = (0, 2, 3, join - 1, join, join + 1, steps // 3, steps - 3, steps - 1)
        for step, (source, lead, length) in zip(
            chosen, peak_stretches(data, result.path, chosen, RATE), strict=True
        ):
            stretch = _decode_stretch(source)
            at = round(lead * RATE)  # the stretch's start in its own decode
            start = round(max(0.0, step * 0.1 - PEAK_BEFORE_S) * RATE)  # and in the file's
            n = min(round(length * RATE), whole.shape[0] - start)
            assert stretch.shape[0] >= at + n, (result.path.name, step)
            np.testing.assert_array_equal(stretch[at : at + n], whole[start : start + n])


def test_each_100ms_step_is_metered_by_exactly_one_chunk_inside_its_encoded_frames() -> None:
    from pipeline.sound.meter import WINDOW_STEPS, step_frames

    for rate in (32_000, 44_100, 48_000):
        step = step_frames(rate)
        total = 7 * 60 * rate + 777
        chunks = plan_chunks(total, 6)
        spans = [c.metered(total, rate) for c in chunks]
        owned = [range(first, hi // step) for first, _, hi in spans]
        assert owned[0].start == 0 and owned[-1].stop == total // step
        for a, b in itertools.pairwise(owned):
            assert a.stop == b.start  # no step twice, none left out
        for chunk, (first, lo, hi) in zip(chunks, spans, strict=True):
            assert chunk.start <= lo and hi <= chunk.end  # metered inside what it encodes
            if chunk.index:
                assert lo <= (first - WINDOW_STEPS) * step  # its first window lies whole


def test_mp3val_finds_nothing_wrong_in_the_joined_stream(pair: dict) -> None:
    if shutil.which("mp3val") is None:
        pytest.skip("mp3val is not installed (make test installs Debian's mp3val as root)")
    reports = []
    for result in (pair[1], pair[2]):
        run = subprocess.run(["mp3val", str(result.path)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert "WARNING" not in run.stdout and "ERROR" not in run.stdout, run.stdout
        reports.append(re.search(r"(\d+) MPEG frames", run.stdout))
    assert reports[0] and reports[1] and reports[0][1] == reports[1][1]  # as many frames


def _encoding(proc: subprocess.Popen, scratch: Path, encoder: str) -> tuple[list, list]:
    """Wait until the build writes chunks into its scratch folder (its TMPDIR) and, with
    ffmpeg chunks, their encoders run; then (its chunk workers, their ffmpeg encoders)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):  # a finished chunk's file may be gone
            started = any(p.stat().st_size for p in scratch.glob("pmr-chunks-*/chunk-*.mp3"))
            workers, encoders = [], []
            for child in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if "-reservoir" in child.cmdline():
                        encoders.append(child)
                    elif child.ppid() == proc.pid and "ffmpeg" not in child.name():
                        workers.append(child)
            if started and len(workers) >= 2 and (encoders or encoder == "lame"):
                return workers, encoders
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the chunks never started encoding")


def _reap(proc: subprocess.Popen) -> None:
    """A build still running (hung) is killed with its workers, not left to the next tests."""
    if proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()
        proc.kill()


def _chunked_build(long_build: tuple, scratch: Path, encoder: str) -> subprocess.Popen:
    routine, out_dir = long_build
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch), PMR_CHUNK_ENCODER=encoder)
    return pmr("build", str(routine), "-m", "2", "-j", "2", "--out", str(out_dir / "s.mp3"),
               env=env)  # fmt: skip


@pytest.mark.parametrize("encoder", ["lame", "ffmpeg"])
def test_sigterm_ends_every_worker_and_leaves_nothing(
    long_build: tuple, tmp_path: Path, encoder: str
) -> None:
    proc = _chunked_build(long_build, tmp_path / "scratch", encoder)
    workers, encoders = _encoding(proc, tmp_path / "scratch", encoder)
    assert bool(encoders) == (encoder == "ffmpeg")  # in-process LAME: no encoder processes
    tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=30)
    finally:
        _reap(proc)
    assert proc.returncode == 143 and "Traceback" not in stderr, stderr
    assert list(long_build[1].iterdir()) == [] and list((tmp_path / "scratch").iterdir()) == []
    _, alive = psutil.wait_procs([*tree[1:], *workers, *encoders], timeout=10)
    assert alive == []


@pytest.mark.parametrize(
    ("encoder", "says"), [("lame", "a chunk worker died"), ("ffmpeg", "ffmpeg failed")]
)
def test_a_crashed_chunk_encoder_is_a_clear_error(
    long_build: tuple, tmp_path: Path, encoder: str, says: str
) -> None:
    """In-process LAME crashes with its worker; an ffmpeg encoder crashes alone."""
    proc = _chunked_build(long_build, tmp_path / "scratch", encoder)
    workers, encoders = _encoding(proc, tmp_path / "scratch", encoder)
    (encoders or workers)[-1].kill()
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        _reap(proc)
    assert proc.returncode == 2, stderr
    assert says in stderr and "Traceback" not in stderr, stderr
    assert list(long_build[1].iterdir()) == [] and list((tmp_path / "scratch").iterdir()) == []


def _audio_frames(path: Path) -> bytes:
    """The MP3 after its ID3v2 tag (which holds times): the Xing/LAME frame and the audio."""
    data = path.read_bytes()
    assert data[:3] == b"ID3"
    return data[10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10])) :]


def test_a_dask_cluster_build_is_bit_identical_to_the_local_chunked_one(
    pair: dict, module_cache: Path, tmp_path: Path
) -> None:
    distributed = pytest.importorskip(
        "distributed", reason="the dask extra is not installed (pip install -e '.[dask]')"
    )
    import dask
    from typer.testing import CliRunner

    from pipeline.cli import app

    local = pair[2]
    (tmp_path / "out").mkdir()
    scratch = dask.config.set({"temporary-directory": str(tmp_path / "dask-scratch")})
    with (
        scratch,
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, protocol="tcp://",
            host="127.0.0.1", dashboard_address=None,
        ) as cluster,
    ):  # fmt: skip
        result = CliRunner().invoke(
            app,
            ["build", str(local.path.with_name("mini.toml")), "-m", "2", "-j", "2", "-q",
             "--background", "pink", "--cache-dir", str(module_cache), "--out",
             str(tmp_path / "out" / "d.mp3"), "--executor", "dask", "--scheduler",
             cluster.scheduler_address],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    remote = tmp_path / "out" / "d.mp3"
    assert np.array_equal(_decode(remote), _decode(local.path))  # the same PCM, sample for sample
    assert _audio_frames(remote) == _audio_frames(local.path)  # and the same MP3 frames
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".mp3") == ["d.mp3"]


def test_dask_build_mistakes_exit_2_before_any_work(tmp_path: Path, mini_routine: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = tmp_path / "out"
    out.mkdir()
    base = ["build", str(mini_routine), "-m", "2", "-o", str(out / "s.mp3")]
    cases = {
        ("--executor", "ray"): "--executor 'ray': valid: local, dask",
        ("--executor", "dask"): "--executor dask needs --scheduler ADDRESS",
        ("--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"):
            "--scheduler tcp://127.0.0.1:9: can't reach the dask scheduler",
        ("--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--master",
         str(out / "m.wav")): "--executor dask: --master is written by the serial path",
        ("--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--sample-rate", "22050"):
            "--executor dask: --sample-rate 22050 has no MPEG-1 frames",
        ("--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--bitrate", "56k"):
            "--executor dask: --bitrate 56k frames are too small to hold the length of a joined "
            "stream (its Xing/LAME frame); give 64k or more",
    }  # fmt: skip
    for extra, message in cases.items():
        result = CliRunner().invoke(app, [*base, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert f"pmr: error: {message}" in result.output, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert list(out.iterdir()) == []
