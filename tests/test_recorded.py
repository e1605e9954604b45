"""Recorded voice packs with audio files the test makes (wav, flac, mp3, m4a via ffmpeg)."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.encode import ffmpeg_exe
from pipeline.errors import VoiceError
from pipeline.narration import ClipCache, load_voice, narrate
from pipeline.template import load_script
from pipeline.tuning import CLIP_PAD_S

from .test_gtts import loud_runs

RATE = 44_100
runner = CliRunner()
# line id -> (file, tone seconds): each line a different length so clips can be told apart
TAKES = {
    "start.hello": ("hello.wav", 1.2),
    "left-hand.tense": ("lh-tense.flac", 0.9),
    "left-hand.release": ("lh-release.mp3", 1.5),
    "right-hand.tense": ("rh-tense.m4a", 1.1),
    "right-hand.release": ("rh-release.wav", 1.4),
}


def record(path: Path, tone_s: float, lead_s: float = 0.6, tail_s: float = 0.8) -> None:
    """A 'recording': room silence, a 200 Hz tone standing in for the voice, silence."""
    rate = 48_000
    tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(round(tone_s * rate)) / rate)
    pcm = np.concatenate([np.zeros(round(lead_s * rate)), tone, np.zeros(round(tail_s * rate))])
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "f32le", "-ar", str(rate), "-ac", "1",
         "-i", "pipe:0", str(path)],
        input=pcm.astype("<f4").tobytes(), check=True,
    )  # fmt: skip


@pytest.fixture
def pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A voice profile 'anna' in a user voices folder, its pack beside it."""
    voices = tmp_path / "voices"
    folder = voices / "anna-pack"
    folder.mkdir(parents=True)
    lines = []
    for line_id, (name, tone_s) in TAKES.items():
        record(folder / name, tone_s)
        gain = ", gain_db = -6.0" if line_id == "left-hand.tense" else ""
        lines.append(f'"{line_id}" = {{ file = "{name}"{gain} }}')
    (folder / "pack.toml").write_text(
        '[pack]\nlanguage = "en"\n\n[lines]\n' + "\n".join(lines) + "\n", encoding="utf-8"
    )
    (voices / "anna.toml").write_text(
        'name = "anna"\nengine = "recorded"\nlanguage = "en"\npack = "anna-pack"\n'
        'description = "Anna, our therapist"\nfallback = "piper-joe"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PMR_VOICES_DIR", str(voices))
    return folder


def test_every_format_is_decoded_trimmed_and_gained(pack: Path, mini_routine, tmp_path) -> None:
    script = load_script(str(mini_routine))
    clips = narrate(script, load_voice("anna"), ClipCache(tmp_path / "c"), RATE)
    assert set(clips.engines.values()) == {"recorded"}
    peaks = {}
    for line_id, (_, tone_s) in TAKES.items():
        clip = clips.load(line_id)
        [(start, end)] = loud_runs(clip)
        assert end - start == pytest.approx(tone_s, abs=0.03), line_id
        assert start == pytest.approx(CLIP_PAD_S, abs=0.012)
        assert clip.size / RATE - end == pytest.approx(CLIP_PAD_S, abs=0.012)
        peaks[line_id] = 20 * np.log10(np.max(np.abs(clip)))
    assert peaks["left-hand.tense"] - peaks["start.hello"] == pytest.approx(-6, abs=0.1)


def test_a_recorded_voice_builds_a_session(pack: Path, mini_routine, tmp_path, decode_mp3):
    out = tmp_path / "anna.mp3"
    result = runner.invoke(
        app, ["build", str(mini_routine), "-m", "1.1", "--voice", "anna", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert decode_mp3(out).seconds == pytest.approx(66, abs=0.3)


def test_a_new_take_replaces_the_cached_clip(pack: Path, mini_routine, tmp_path) -> None:
    script, voice = load_script(str(mini_routine)), load_voice("anna")
    cache = ClipCache(tmp_path / "c")
    narrate(script, voice, cache, RATE)
    assert narrate(script, voice, cache, RATE).synthesized == 0
    record(pack / "hello.wav", 2.0)
    again = narrate(script, voice, cache, RATE)
    assert again.synthesized == 1
    [(start, end)] = loud_runs(again.load("start.hello"))
    assert end - start == pytest.approx(2.0, abs=0.03)


def test_missing_recordings_are_all_listed_or_filled(pack: Path, mini_routine, tmp_path) -> None:
    (pack / "lh-tense.flac").unlink()
    manifest = pack / "pack.toml"
    manifest.write_text(
        "\n".join(x for x in manifest.read_text().splitlines() if "rh-release" not in x)
    )
    out = tmp_path / "x.mp3"
    args = ["build", str(mini_routine), "-m", "1.1", "--voice", "anna", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "no recording for 2 lines: left-hand.tense, right-hand.release" in result.output
    assert "--fill-missing" in result.output and not out.exists()
    filled = narrate(
        load_script(str(mini_routine)),
        load_voice("anna"),
        ClipCache(tmp_path / "c"),
        RATE,
        fill_missing=True,
    )
    assert filled.voices == {
        "start.hello": "anna",
        "left-hand.tense": "piper-joe",
        "left-hand.release": "anna",
        "right-hand.tense": "anna",
        "right-hand.release": "piper-joe",
    }
    assert len(filled.notices) == 1 and "spoken by piper-joe" in filled.notices[0]


@pytest.mark.parametrize(
    ("pack_toml", "message"),
    [
        ("[pack]\nvolume = 3\n[lines]\n", "pack.volume: unknown key"),
        ('[lines]\n"start.hello" = "hello.aiff"\n', "is not a supported audio file"),
        ('[lines]\n"start.hello" = { file = "hello.wav", gain_db = 40 }\n', "from -30 to 10 dB"),
        ('[pack]\nlanguage = "de"\n[lines]\n', "pack.language: 'de'"),
        ("[lines\n", "can't read the pack"),
        ('[lines]\n"start.hello" = "../../etc/passwd.wav"\n', "outside the pack folder"),
    ],
)
def test_a_bad_pack_names_the_file_and_key(pack: Path, mini_routine, tmp_path, pack_toml, message):
    (pack / "pack.toml").write_text(pack_toml)
    with pytest.raises(VoiceError, match=message) as info:
        narrate(load_script(str(mini_routine)), load_voice("anna"), ClipCache(tmp_path / "c"), RATE)
    assert str(pack / "pack.toml") in str(info.value)


def test_recording_script_exports_csv_and_markdown(mini_routine: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["voices", "script", str(mini_routine), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "mini-recording-script.csv").read_text())))
    script = load_script(str(mini_routine))
    assert [(r["line_id"], r["text"]) for r in rows] == [(x.id, x.text) for x in script.lines()]
    hold = next(r for r in rows if r["line_id"] == "left-hand.tense")
    assert "5 s of silence follows" in hold["direction"] and "Left hand" in hold["direction"]
    markdown = (tmp_path / "mini-recording-script.md").read_text()
    assert sum(line.startswith("| ") for line in markdown.splitlines()) == len(rows) + 1
    assert '"left-hand.release" = ' in markdown
    missing = runner.invoke(app, ["voices", "script", "full", "-o", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_voices_lists_engine_language_network_and_cache(pack: Path, mini_routine, tmp_path):
    cache = tmp_path / "c"
    narrate(load_script(str(mini_routine)), load_voice("anna"), ClipCache(cache), RATE)
    listing = runner.invoke(app, ["voices", "--cache-dir", str(cache)])
    assert listing.exit_code == 0, listing.output
    rows = {line.split()[0]: line.split() for line in listing.output.splitlines()}
    assert rows["anna"][1:5] == ["recorded", "en", "offline", "5"]
    assert rows["gtts-uk"][1:5] == ["gtts", "en", "online", "0"]
    assert rows["gtts-es"][1:3] == ["gtts", "es"] and rows["piper-joe"][3] == "offline"
