"""`pmr validate`, `pmr new` and `pmr plan` through the real CLI."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.template import resolve_routine
from pipeline.validate import locate

runner = CliRunner()


def _broken_full(tmp_path: Path) -> tuple[Path, str]:
    text = resolve_routine("full").read_text()
    text = text.replace('title = "Progressive', 'titel = "Progressive', 1)
    text = text.replace('{ pause = "relax" }', '{ pause = "relx" }', 1)
    text = text.replace('id = "left-calf"', 'id = "left-foot"', 1)
    text = text.replace('drop = ["rest"', 'drop = ["resst"', 1)
    text = text.replace("beat = { min = 0.6", "beat = { min = 9", 1)
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path, text


def _line_of(text: str, needle: str, nth: int = 0) -> int:
    starts = [m.start() for m in re.finditer(re.escape(needle), text)]
    return text.count("\n", 0, starts[nth]) + 1


def test_validate_lists_every_problem_with_line_and_key(tmp_path: Path) -> None:
    path, text = _broken_full(tmp_path)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "6 problems" in result.output and "Traceback" not in result.output
    expected = [
        (_line_of(text, "titel"), "routine.titel: unknown key (did you mean 'title'?)"),
        (_line_of(text, "beat = {"), "pauses.beat: needs min <= default <= max"),
        (_line_of(text, '"relx"'), "cycle.steps[3].pause: unknown pause 'relx' (did you mean"),
        (_line_of(text, 'id = "left-foot"', 1), "sections[6].id: 'left-foot' is used by"),
        (_line_of(text, "resst"), "fit.drop[0]: no section 'resst' (did you mean 'rest'?)"),
    ]
    for line, message in expected:
        assert f"{path}:{line}: {message}" in result.output


def test_validate_accepts_every_builtin() -> None:
    for name in ("full", "quick", "completo-es"):
        result = runner.invoke(app, ["validate", name])
        assert result.exit_code == 0, result.output
        assert "valid" in result.output


def test_validate_names_bad_toml_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[routine]\nname = "x"\ntitle = \n')
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2 and f"{bad}:3: invalid TOML" in result.output
    result = runner.invoke(app, ["validate", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and "no such routine file" in result.output


@pytest.mark.parametrize(
    ("key", "needle", "nth"),
    [
        ("sections[1].steps[1].pause", '{ pause = "beat" }', 1),  # the second one in the file
        ("pauses.relax.max", "relax = {", 0),
        ("fit.repeat[1].to", 'to = "forehead"', 0),
        ("routine.name", 'name = "full"', 0),
        ("sections[5].tense", 'tense = "Curl the toes of your left foot', 0),
    ],
)
def test_locate_finds_the_line_of_a_key(key: str, needle: str, nth: int) -> None:
    text = resolve_routine("full").read_text()
    assert locate(text, key) == _line_of(text, needle, nth)


def test_new_copies_a_builtin_under_a_new_name(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "my-evening", "--from", "quick", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    made = tmp_path / "my-evening.toml"
    assert 'name = "my-evening"' in made.read_text()
    assert runner.invoke(app, ["validate", str(made)]).exit_code == 0
    again = runner.invoke(app, ["new", "my-evening", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(app, ["new", "My Routine", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "lowercase" in bad.output
    unknown = runner.invoke(app, ["new", "x", "--from", "ful", "--dir", str(tmp_path)])
    assert unknown.exit_code == 2 and "did you mean 'full'" in unknown.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-evening.toml"]


def test_plan_prints_a_cue_sheet_that_adds_up(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", "short", "--minutes", "12"])
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()
    assert rows[0].startswith("short with piper-joe: 12:00.0 (reaches ")
    assert re.search(r"clip lengths: \d+ cached, \d+ estimated", rows[0])
    assert rows[-1].split() == ["12:00.0", "end"]
    holds = [r for r in rows if "[hold 5.0 s fixed]" in r]
    assert len(holds) >= 8
    relax = [float(m) for m in re.findall(r"\[relax (\d+\.\d) s\]", result.output)]
    assert relax and min(relax) >= 15.0
    clocks = [r.split()[0] for r in rows[2:]]
    seconds = [int(c.split(":")[0]) * 60 + float(c.split(":")[1]) for c in clocks]
    assert seconds == sorted(seconds)


def test_plan_draws_a_png(tmp_path: Path) -> None:
    import matplotlib.image

    png = tmp_path / "plan.png"
    result = runner.invoke(app, ["plan", "quick", "-m", "5", "--png", str(png)])
    assert result.exit_code == 0, result.output
    image = matplotlib.image.imread(png)
    assert image.shape[0] > 500 and image.shape[1] > 1200
    assert np.unique(image.reshape(-1, image.shape[2]), axis=0).shape[0] > 20  # not blank
    assert [p.name for p in tmp_path.iterdir()] == ["plan.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "full", "-m", "3"], "3 min is out of reach: full with piper-joe can make"),
        (["plan", "completo-es"], "piper-joe speaks 'en' but routine completo-es is in 'es'"),
        (["plan", "full", "--png", "/nonexistent/x.png"], "does not exist"),
        (["plan", "full", "-b", "rain"], "unknown background 'rain'"),
    ],
)
def test_plan_mistakes_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_validate_checks_fit_and_fade_keys(tmp_path: Path) -> None:
    text = resolve_routine("quick").read_text()
    text = text.replace('language = "en"', 'language = "en"\nfade_out = "long"', 1)
    text = text.replace('to = "face"', 'to = "legs"\ntime = 3', 1)
    path = tmp_path / "q.toml"
    path.write_text(text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert (
        f"{path}:{_line_of(text, 'fade_out')}: routine.fade_out: must be a number" in result.output
    )
    assert (
        f"{path}:{_line_of(text, 'time = 3')}: fit.repeat[1].time: unknown key "
        "(did you mean 'times'?)" in result.output
    )
