"""The CLI: user mistakes end with exit 2 and one clear line, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import __version__
from pipeline.cli import app

runner = CliRunner()


def test_build_writes_the_mp3_and_reports_it(
    tmp_path: Path, mini_routine: Path, decode_mp3
) -> None:
    out = tmp_path / "session.mp3"
    result = runner.invoke(app, ["build", str(mini_routine), "--minutes", "1.1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and "1:06.0" in result.output
    assert abs(decode_mp3(out).seconds - 66) < 0.5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "nosuch"], "unknown routine 'nosuch'"),
        (["build", "--voice", "piper-jo"], "did you mean 'piper-joe'"),
        (["build", "--minutes", "0"], "--minutes 0.0: give a number of minutes above 0"),
        (["build", "--minutes", "-3"], "above 0"),
        (["build", "--minutes", "nan"], "above 0"),
        (["build", "--minutes", "inf"], "above 0"),
        (["build", "--minutes", "10000"], "at most 600"),
        (["build", "--minutes", "2"], "out of reach: full with piper-joe can make"),
        (["build", "--background", "rain"], "unknown background 'rain'"),
    ],
)
def test_user_mistakes_exit_2_with_one_message(args, message, tmp_path: Path) -> None:
    out = tmp_path / "x.mp3"
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_output_folder_is_named(tmp_path: Path) -> None:
    out = tmp_path / "nope" / "x.mp3"
    result = runner.invoke(app, ["build", "--out", str(out)])
    assert result.exit_code == 2
    assert "does not exist" in result.output and str(tmp_path / "nope") in result.output


def test_listings_and_version() -> None:
    routines = runner.invoke(app, ["routines"])
    assert routines.exit_code == 0 and "full" in routines.output and "18 groups" in routines.output
    voices = runner.invoke(app, ["voices"])
    assert voices.exit_code == 0 and "piper-joe" in voices.output and "offline" in voices.output
    version = runner.invoke(app, ["--version"])
    assert version.output.strip() == f"pmr {__version__}"
    assert "Examples" in runner.invoke(app, ["build", "--help"]).output
