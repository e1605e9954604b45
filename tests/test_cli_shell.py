"""The CLI's shell side: -h, shell completion of names, the one error boundary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()
PMR = str(Path(sys.executable).with_name("pmr"))


def complete(*words: str) -> list[str]:
    """What bash completion offers for the last word, from the installed `pmr` script."""
    env = os.environ | {
        "_PMR_COMPLETE": "complete_bash",
        "COMP_WORDS": " ".join(("pmr", *words)),
        "COMP_CWORD": str(len(words)),
    }
    done = subprocess.run([PMR], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_h_is_help_everywhere() -> None:
    for args in (["-h"], ["build", "-h"], ["voices", "script", "-h"], ["cache", "prune", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert result.output.startswith("Usage: "), args


def test_completion_script_and_names(tmp_path: Path) -> None:
    shown = subprocess.run([PMR, "--show-completion", "bash"], capture_output=True, text=True)
    assert shown.returncode == 0 and "_PMR_COMPLETE=complete_bash" in shown.stdout
    assert complete("build", "fu") == ["full"]
    assert "sleep" in complete("build", "") and "completo-es" in complete("plan", "comp")
    assert complete("build", "--voice", "piper-") == ["piper-joe"]
    assert complete("build", "-b", "binaural-") == ["binaural-alpha", "binaural-theta"]
    assert complete("preview-background", "oc") == ["ocean"]


def test_a_routine_file_completes_too(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert complete("build", f"{tmp_path}/m") == [f"{tmp_path}/mine.toml"]
    assert complete("validate", f"{tmp_path}/n") == []


def test_every_command_runs_inside_the_one_boundary(tmp_path: Path) -> None:
    """No command catches errors itself: a mistake in each group ends the same way."""
    for args in (
        ["routines", "--nope"],  # click's own usage error stays exit 2
        ["validate", str(tmp_path / "none.toml")],
        ["cache", "prune", "--older-than", "-1"],
        ["voices", "script", "full", "-o", str(tmp_path / "nope")],
        ["index", str(tmp_path / "nothing")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    mistake = runner.invoke(app, ["cache", "prune", "--older-than", "-1"])
    assert mistake.output.startswith("pmr: error: --older-than -1.0")


def test_quiet_drops_the_notes(tmp_path: Path, mini_routine: Path) -> None:
    (tmp_path / "online.toml").write_text(
        'name = "online"\nengine = "gtts"\nlanguage = "en"\nfallback = "piper-joe"\n'
    )
    env = {"PMR_VOICES_DIR": str(tmp_path)}
    args = ["build", str(mini_routine), "-m", "1.1", "--voice", "online", "--offline"]
    loud = runner.invoke(app, [*args, "-o", str(tmp_path / "a.mp3")], env=env)
    assert loud.exit_code == 0, loud.output
    assert "pmr: note: " in loud.output
    quiet = runner.invoke(app, [*args, "-o", str(tmp_path / "b.mp3"), "--quiet"], env=env)
    assert quiet.exit_code == 0, quiet.output
    assert "pmr: note" not in quiet.output and str(tmp_path / "b.mp3") in quiet.output
