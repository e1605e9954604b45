"""`pmr check`: independent figures of a finished MP3; a good session passes, a clipped and a
too-loud copy of it fail, and an MP3 pmr did not build is still measured."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.build import BuildOptions, build
from pipeline.cli import app
from pipeline.encode import ffmpeg_exe

from .conftest import SHORT_ROUTINE

runner = CliRunner()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, module_cache: Path) -> Path:
    folder = tmp_path_factory.mktemp("check")
    routine = folder / "mini.toml"
    routine.write_text(SHORT_ROUTINE, encoding="utf-8")
    return build(
        BuildOptions(routine=str(routine), minutes=1.25, out=folder / "good.mp3",
                     cache_dir=module_cache)
    ).path  # fmt: skip


def altered(source: Path, target: Path, audio_filter: str) -> Path:
    """A copy of `source` through an ffmpeg filter, its transcript beside it."""
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-af", audio_filter,
         "-c:a", "libmp3lame", "-b:a", "128k", str(target)],
        check=True,
    )  # fmt: skip
    shutil.copy(source.with_suffix(".vtt"), target.with_suffix(".vtt"))
    return target


def figures(args: list[str]) -> tuple[int, dict]:
    result = runner.invoke(app, ["check", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)["figures"]


def test_a_good_session_passes(good: Path) -> None:
    result = runner.invoke(app, ["check", str(good)])
    assert result.exit_code == 0, result.output
    assert "speech rate" in result.output and "FAIL" not in result.output
    code, got = figures([str(good)])
    assert code == 0
    assert got["duration"]["value"] == pytest.approx(75.0, abs=0.1)
    assert got["loudness"]["value"] == pytest.approx(-16.0, abs=1.0)
    assert got["hold (worst)"]["value"] == pytest.approx(5.0, abs=0.3)


def test_a_clipped_copy_fails(good: Path, tmp_path: Path) -> None:
    clipped = altered(good, tmp_path / "clipped.mp3", "volume=14dB,aformat=sample_fmts=s16")
    code, got = figures([str(clipped)])
    assert code == 1
    assert got["clipped samples"]["ok"] is False and got["clipped samples"]["value"] > 100


def test_a_too_loud_copy_fails_on_loudness_alone(good: Path, tmp_path: Path) -> None:
    # squashed (20:1 from -30 dB, +16 dB) under a limiter at 0.7: about -11 LUFS, -1.9 dBTP.
    # (A plain gain under a limiter measured quieter, not louder: alimiter pulls the voice down.)
    squash = "acompressor=threshold=-30dB:ratio=20:attack=0.1:release=20:makeup=16"
    limit = "alimiter=limit=0.7:level=false:attack=0.1:release=20"
    loud = altered(good, tmp_path / "loud.mp3", f"{squash},{limit}")
    code, got = figures([str(loud)])
    assert code == 1
    assert got["loudness"]["ok"] is False and got["loudness"]["value"] > -14
    assert got["clipped samples"]["ok"] is True and got["true peak"]["ok"] is True


def test_an_mp3_pmr_did_not_build_is_measured_and_says_what_it_lacks(tmp_path: Path) -> None:
    tone = tmp_path / "tone.mp3"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=20",
         "-af", "volume=-20dB", "-ac", "2", str(tone)],
        check=True,
    )  # fmt: skip
    _, got = figures([str(tone)])
    assert got["duration"]["value"] == pytest.approx(20.0, abs=0.1)
    assert got["speech rate"]["value"] is None
    assert "needs a transcript" in got["speech rate"]["note"]


def test_a_file_that_is_not_audio_is_a_user_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_text("not audio")
    result = runner.invoke(app, ["check", str(junk)])
    assert result.exit_code == 2
    assert result.output.startswith("pmr: error: ") and str(junk) in result.output


def test_a_hold_out_of_tolerance_fails_the_check(good: Path, tmp_path: Path) -> None:
    # The transcript calls a release line a tense one: the relax after it is measured as a
    # hold, far from 5 s. The figure is a numpy comparison: the verdict must still say FAIL.
    copy = tmp_path / "held.mp3"
    shutil.copy(good, copy)
    vtt = good.with_suffix(".vtt").read_text(encoding="utf-8")
    ids = [line for line in vtt.splitlines() if line.endswith(".release")]
    assert ids, vtt
    copy.with_suffix(".vtt").write_text(
        vtt.replace(ids[0] + "\n", ids[0].removesuffix(".release") + ".tense\n", 1),
        encoding="utf-8",
    )
    code, got = figures([str(copy)])
    assert got["hold (worst)"]["ok"] is False, got["hold (worst)"]
    assert code == 1
    result = runner.invoke(app, ["check", str(copy), "--json"])
    assert json.loads(result.stdout)["ok"] is False
