"""End to end with real Piper and real ffmpeg, checked by decoding the MP3 again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.build import BuildOptions, build


@pytest.fixture(scope="module")
def mini_build(tmp_path_factory: pytest.TempPathFactory, module_cache: Path):
    folder = tmp_path_factory.mktemp("mini-build")
    routine = folder / "mini.toml"
    from .conftest import SHORT_ROUTINE

    routine.write_text(SHORT_ROUTINE)
    options = BuildOptions(
        routine=str(routine),
        minutes=1.25,
        out=folder / "mini.mp3",
        cache_dir=module_cache,
        background="none",
    )
    return build(options)


def test_duration_is_within_half_a_second(mini_build, decode_mp3) -> None:
    audio = decode_mp3(mini_build.path)
    assert abs(audio.seconds - 75.0) < 0.5
    assert audio.samples.shape[1] == 2


def test_speech_sits_where_the_timeline_puts_it(mini_build, decode_mp3) -> None:
    audio = decode_mp3(mini_build.path)
    rate = mini_build.timeline.rate_hz
    for line in mini_build.timeline.of_kind("line"):
        start, end = line.start / rate, line.end / rate
        assert audio.rms_db(start + 0.1, end - 0.1) > -30, line.ref  # words are there
        # and nothing is spoken in the quarter second before a line starts
        assert audio.rms_db(start - 0.3, start - 0.05) < -50, line.ref  # (a chime may ring)


def test_each_5s_hold_carries_no_speech(mini_build, decode_mp3) -> None:
    audio = decode_mp3(mini_build.path)
    rate = mini_build.timeline.rate_hz
    holds = [e for e in mini_build.timeline.of_kind("pause") if e.ref == "hold"]
    assert len(holds) == 2
    for hold in holds:
        assert hold.length == 5 * rate
        # the previous line's pad ends inside the first 0.1 s of the hold
        assert audio.rms_db(hold.start / rate + 0.15, hold.end / rate) < -60


def test_second_build_synthesizes_nothing(mini_build, tmp_path: Path, module_cache: Path) -> None:
    clips = sorted((module_cache / "clips").rglob("*.npy"))
    stamps = [p.stat().st_mtime_ns for p in clips]
    options = BuildOptions(
        routine=str(mini_build.path.with_name("mini.toml")),
        minutes=1.5,
        out=tmp_path / "again.mp3",
        cache_dir=module_cache,
    )
    again = build(options)
    assert sorted((module_cache / "clips").rglob("*.npy")) == clips
    assert [p.stat().st_mtime_ns for p in clips] == stamps
    assert again.clips.synthesized == 0


def test_background_pad_is_soft_and_fades(tmp_path: Path, cache_dir: Path, decode_mp3) -> None:
    from .conftest import SHORT_ROUTINE

    routine = tmp_path / "no-chime.toml"
    routine.write_text(SHORT_ROUTINE.replace('{ cue = "chime" },', ""))
    result = build(
        BuildOptions(
            routine=str(routine), minutes=1.2, out=tmp_path / "pad.mp3", cache_dir=cache_dir
        )
    )
    audio = decode_mp3(result.path)
    rate = result.timeline.rate_hz
    hold = next(e for e in result.timeline.of_kind("pause") if e.ref == "hold")
    bed = audio.rms_db(hold.start / rate + 0.5, hold.end / rate - 0.5)
    assert -40 < bed < -26  # audible but soft
    assert audio.rms_db(0, 0.2) < bed - 10  # fades in
    assert audio.rms_db(audio.seconds - 0.2, audio.seconds) < bed - 10  # fades out
    assert np.max(np.abs(audio.samples)) < 1.0


def test_full_routine_ten_minutes(tmp_path: Path, cache_dir: Path, decode_mp3) -> None:
    """What `make session` builds: the real routine at 10 minutes."""
    result = build(
        BuildOptions(routine="full", minutes=10, out=tmp_path / "full.mp3", cache_dir=cache_dir)
    )
    audio = decode_mp3(result.path)
    assert abs(audio.seconds - 600) < 0.5
    rate = result.timeline.rate_hz
    relax = [e for e in result.timeline.of_kind("pause") if e.ref == "relax"]
    assert len(relax) == 18 and all(e.length >= 15 * rate for e in relax)
