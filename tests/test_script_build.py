"""Bring your own script: real builds of imported scripts, measured in the decoded MP3.

A written pause is the voice-free gap between two lines in the finished audio, plus the fixed
clip pad: narration clips are trimmed to CLIP_PAD_S of silence on each side, so the gap is
written seconds + 2 x CLIP_PAD_S (0.16 s). Builds use no background and no chimes, so the
only sound is the voice.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.template import expand, load_script
from pipeline.template.script_export import chapters_natural
from pipeline.tuning import CLIP_PAD_S, SCRIPT_PAUSE_S

runner = CliRunner()
QUIET = ["--background", "none", "--no-chimes", "--no-measure"]
PAD_S = 2 * CLIP_PAD_S

BRACKETS_TXT = """# Bring your own

## Bracket markers
Settle into your chair. [PAUSE:7]
Let your shoulders drop. [pause:2.5s]
Breathe in. [breath]
And out. [pause:3]
Let go. [pause]
Relax your jaw. [break]

[Plain paragraphs]
Notice the calm.

Feel your breath.
"""
BRACKET_GAPS = [7.0, 2.5, SCRIPT_PAUSE_S["breath"], 3.0, SCRIPT_PAUSE_S["pause"]]
BRACKET_GAPS += [SCRIPT_PAUSE_S["break"], SCRIPT_PAUSE_S["paragraph"]]

BREAKS_SSML = """<?xml version="1.0" encoding="UTF-8"?>
<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en">
<mark name="chapter:Breaks"/>
Feel the chair. <break time="4s"/>
Soften your face. <break time="1500ms"/>
<prosody rate="slow">Rest your hands.</prosody> <break strength="strong"/>
Notice the quiet. <break strength="x-strong"/>
Stay here.
</speak>
"""
SSML_GAPS = [4.0, 1.5, SCRIPT_PAUSE_S["strong"], SCRIPT_PAUSE_S["x-strong"]]


def voice_free_gaps(samples: np.ndarray, rate_hz: int, floor_db: float = -50.0) -> list[float]:
    """Seconds of every stretch below `floor_db` (5 ms RMS frames) between two voiced frames,
    longer than 0.4 s (shorter ones are the voice's own breaths between words)."""
    mono = samples.astype(np.float64).mean(axis=1)
    hop = round(0.005 * rate_hz)
    frames = mono[: len(mono) // hop * hop].reshape(-1, hop)
    level = 20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-12)
    voiced = np.flatnonzero(level > floor_db)
    runs = (np.diff(voiced) - 1) * hop / rate_hz
    return [float(r) for r in runs if r > 0.4]


def build(source: Path, out: Path, *extra: str) -> None:
    result = runner.invoke(app, ["build", str(source), "--out", str(out), *QUIET, *extra])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def brackets(tmp_path_factory: pytest.TempPathFactory, module_cache: Path) -> tuple[Path, Path]:
    """Built once for the module. Builds compared with it pass the same `module_cache`
    (Piper's clips differ slightly from one synthesis to the next)."""
    folder = tmp_path_factory.mktemp("brackets")
    script = folder / "brackets.txt"
    script.write_text(BRACKETS_TXT, encoding="utf-8")
    build(script, folder / "direct.mp3", "--cache-dir", str(module_cache))
    return script, folder / "direct.mp3"


def test_bracket_markers_and_paragraphs_are_as_long_as_written(brackets, decode_mp3) -> None:
    decoded = decode_mp3(brackets[1])
    gaps = voice_free_gaps(decoded.samples, decoded.rate_hz)
    assert len(gaps) == len(BRACKET_GAPS), gaps
    for measured, written in zip(gaps, BRACKET_GAPS, strict=True):
        assert measured == pytest.approx(written + PAD_S, abs=0.3), (gaps, BRACKET_GAPS)


def test_headings_become_chapters(brackets, decode_mp3) -> None:
    chapters = sorted(ID3(brackets[1]).getall("CHAP"), key=lambda c: c.start_time)
    titles = [c.sub_frames.getall("TIT2")[0].text[0] for c in chapters]
    assert titles == ["Bracket markers", "Plain paragraphs"]
    # the second chapter starts where its first line's voice does: after the [break] gap
    decoded = decode_mp3(brackets[1])
    start = round(chapters[1].start_time / 1000 * decoded.rate_hz)
    before = decoded.samples[max(start - round(0.3 * decoded.rate_hz), 0) : start]
    after = decoded.samples[start : start + round(0.5 * decoded.rate_hz)]
    assert np.abs(before).max() < 0.003 < np.abs(after).max()


def test_build_of_a_script_equals_import_then_build(
    brackets, module_cache: Path, tmp_path: Path, decode_mp3
) -> None:
    script, direct = brackets
    toml = tmp_path / "brackets.toml"
    result = runner.invoke(app, ["import", str(script), "-o", str(toml)])
    assert result.exit_code == 0, result.output
    assert "2 sections, 8 lines, 7 pauses" in result.output
    assert tomllib.loads(toml.read_text(encoding="utf-8"))["routine"]["minutes"] == "natural"
    build(toml, tmp_path / "imported.mp3", "--cache-dir", str(module_cache))
    one, other = decode_mp3(direct), decode_mp3(tmp_path / "imported.mp3")
    assert one.samples.shape == other.samples.shape
    assert np.array_equal(one.samples, other.samples)


def test_ssml_breaks_and_strengths_are_as_long_as_written(tmp_path: Path, decode_mp3) -> None:
    script = tmp_path / "breaks.ssml"
    script.write_text(BREAKS_SSML, encoding="utf-8")
    build(script, tmp_path / "breaks.mp3")
    decoded = decode_mp3(tmp_path / "breaks.mp3")
    gaps = voice_free_gaps(decoded.samples, decoded.rate_hz)
    assert len(gaps) == len(SSML_GAPS), gaps
    for measured, written in zip(gaps, SSML_GAPS, strict=True):
        assert measured == pytest.approx(written + PAD_S, abs=0.3), (gaps, SSML_GAPS)


def test_stretched_import_fits_minutes_and_keeps_pauses_in_proportion(
    brackets, module_cache: Path, tmp_path: Path, decode_mp3
) -> None:
    toml = tmp_path / "stretch.toml"
    result = runner.invoke(app, ["import", str(brackets[0]), "--stretch", "-o", str(toml)])
    assert result.exit_code == 0, result.output
    natural = decode_mp3(brackets[1]).seconds
    target = natural + 0.5 * sum(BRACKET_GAPS)  # every pause 1.5 x its written length
    minutes = f"{target / 60:.6f}"
    build(toml, tmp_path / "stretch.mp3", "--minutes", minutes, "--cache-dir", str(module_cache))
    decoded = decode_mp3(tmp_path / "stretch.mp3")
    assert decoded.seconds == pytest.approx(target, abs=0.5)
    gaps = voice_free_gaps(decoded.samples, decoded.rate_hz)
    for measured, written in zip(gaps, BRACKET_GAPS, strict=True):
        assert measured == pytest.approx(1.5 * written + PAD_S, abs=0.3), (gaps, BRACKET_GAPS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Relax.\n\nBreathe. [PAUSE:abc]\n", "bad.txt:3: [PAUSE:abc]: 'abc' is not a length"),
        ("Relax. [pause:-4]\n", "bad.txt:1: [pause:-4] is negative"),
        ("Relax. [pause:4000]\n", "bad.txt:1: [pause:4000] is over an hour"),
        ("Relax.\n<prosody rate='slow'>Slowly.\n", "bad.txt:2: <prosody> is never closed"),
    ],
)
@pytest.mark.parametrize("command", ["build", "import"])
def test_bad_markers_exit_2_naming_file_line_and_write_nothing(
    text: str, message: str, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.txt").write_text(text, encoding="utf-8")
    out = "bad.mp3" if command == "build" else "bad.toml"
    result = runner.invoke(app, [command, "bad.txt", "-o", out])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"pmr: error: {message}")
    assert "valid: [PAUSE:7]" in result.output or "close it with </prosody>" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt"]


def test_export_then_import_through_the_cli_keeps_lines_and_pauses(tmp_path: Path) -> None:
    for fmt, name in (("text", "quick.txt"), ("ssml", "quick.ssml")):
        exported = runner.invoke(
            app, ["export-script", "quick", "-f", fmt, "-o", str(tmp_path / name)]
        )
        assert exported.exit_code == 0, exported.output
        toml = tmp_path / f"{name}.toml"
        imported = runner.invoke(app, ["import", str(tmp_path / name), "-o", str(toml)])
        assert imported.exit_code == 0, imported.output
        back = expand(tomllib.loads(toml.read_text(encoding="utf-8")))
        assert chapters_natural(back) == chapters_natural(load_script("quick"))
    edited = tmp_path / "quick.txt"
    edited.write_text(edited.read_text(encoding="utf-8") + "My own last line.\n", encoding="utf-8")
    again = runner.invoke(app, ["export-script", "quick", "-o", str(edited)])
    assert again.exit_code == 2 and "pass --force to replace it" in again.output
    assert edited.read_text(encoding="utf-8").endswith("My own last line.\n")


def test_export_at_minutes_writes_the_fitted_pause_lengths(tmp_path: Path) -> None:
    out = tmp_path / "quick-8.txt"
    result = runner.invoke(app, ["export-script", "quick", "-m", "8", "-o", str(out)])
    assert result.exit_code == 0, result.output
    imported = runner.invoke(app, ["import", str(out), "-o", str(tmp_path / "q.toml")])
    assert imported.exit_code == 0, imported.output
    written = tomllib.loads((tmp_path / "q.toml").read_text(encoding="utf-8"))
    pauses = [s["pause"] for sec in written["sections"] for s in sec["steps"] if "pause" in s]
    natural = sum(p.default_s for s in load_script("quick").sections for p in s.steps
                  if hasattr(p, "default_s"))  # fmt: skip
    assert sum(pauses) > natural + 60  # an 8-minute quick session stretches its pauses


def test_plan_of_a_script_shows_its_natural_length(brackets, module_cache: Path, decode_mp3):
    result = runner.invoke(app, ["plan", str(brackets[0]), "--cache-dir", str(module_cache)])
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[0]
    assert "8 cached, 0 estimated" in header, header
    minutes, seconds = header.split(": ", 1)[1].split(" ", 1)[0].split(":")
    planned = int(minutes) * 60 + float(seconds)
    assert planned == pytest.approx(decode_mp3(brackets[1]).seconds, abs=0.1)
