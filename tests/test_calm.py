"""A calm guide, measured from decoded MP3s with pipeline/check.py's meter: speech rate and
sentence gaps of the real routines' words, exact holds and relaxes, phrase caching, beds that
survive a mono fold-down, and a pad a phone speaker can play."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from pipeline import check
from pipeline.build import BuildOptions, build
from pipeline.encode import Mp3Writer
from pipeline.narration import ClipCache, load_voice, narrate
from pipeline.sound.backgrounds import BACKGROUNDS, BINAURAL_BEATS_HZ, BedSpec, make_bed
from pipeline.template import expand

RATE = 44_100


def _value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, str) else repr(value)


def excerpt(routine: str, sections: list[str], path: Path) -> Path:
    """A built-in routine cut to a few of its own sections (its words, pace and pauses), with
    no [fit] table: a short session that reads like the real one."""
    text = (resources.files("pipeline") / "routines" / f"{routine}.toml").read_text("utf-8")
    doc = tomllib.loads(text)
    out = []
    for pause in doc["pauses"].values():  # the reading pace is measured here, not patter
        if isinstance(pause, dict):
            pause.pop("patter", None)
    for table in ("routine", "pauses", "cycle"):
        out.append(f"[{table}]")
        out += [f"{k} = {_value(v)}" for k, v in doc[table].items()]
    for section in (s for s in doc["sections"] if s["id"] in sections):
        out.append("[[sections]]")
        out += [f"{k} = {_value(v)}" for k, v in section.items()]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("routine", "sections", "minutes", "wpm"),
    [  # lengths the excerpts reach at their own pace (no faster reading)
        ("full", ["welcome", "caution", "left-foot", "left-hand", "forehead"], 3.0, (110, 140)),
        ("sleep", ["welcome", "feet", "hands", "face"], 5.0, (95, 120)),
    ],
)
def test_the_words_are_read_slowly_in_phrases(
    tmp_path: Path, routine: str, sections: list[str], minutes: float, wpm: tuple[int, int]
) -> None:
    template = excerpt(routine, sections, tmp_path / f"{routine}.toml")
    out = tmp_path / f"{routine}.mp3"
    build(BuildOptions(routine=str(template), minutes=minutes, out=out))
    figures = {f.name: f for f in check.check_file(out).figures}
    rate = figures["speech rate"].value
    assert wpm[0] <= rate <= wpm[1], figures["speech rate"]
    assert figures["sentence gap (median)"].value >= 0.6
    assert abs(figures["hold (worst)"].value - 5.0) <= 0.3  # pads of 0.08 s either side
    assert figures["relax (shortest)"].value >= 15.0


def test_editing_one_sentence_resynthesizes_only_that_phrase(tmp_path: Path) -> None:
    def script(second: str):
        return expand({
            "routine": {"name": "one", "title": "One", "language": "en"},
            "sections": [{"id": "s", "title": "S", "steps": [
                {"id": "a", "say": f"Let your shoulders drop. {second} Breathe out slowly."},
            ]}],
        })  # fmt: skip

    voice, cache = load_voice("piper-joe"), ClipCache(tmp_path)
    first = narrate(script("Feel them soften."), voice, cache, RATE)
    assert first.phrases_synthesized == 3
    edited = narrate(script("Feel them grow heavy."), voice, cache, RATE)
    assert edited.synthesized == 1 and edited.phrases_synthesized == 1
    again = narrate(script("Feel them grow heavy."), voice, cache, RATE)
    assert again.synthesized == again.phrases_synthesized == 0


def _bed_mp3(name: str, path: Path, seconds: int = 40) -> Path:
    bed = make_bed(BedSpec(name), RATE, 2)
    with Mp3Writer(path, rate_hz=RATE, channels=2, bitrate="128k") as mp3:
        for _ in range(seconds // 2):
            mp3.write(bed.render(2 * RATE) * np.float32(0.05))
    return path


@pytest.mark.parametrize("name", [b for b in BACKGROUNDS if b != "none"])
def test_every_bed_keeps_its_level_in_a_mono_fold_down(tmp_path: Path, name: str) -> None:
    frames = check.decode_frames(_bed_mp3(name, tmp_path / f"{name}.mp3"))
    mono, channel = check.mono_swing(frames.block_db[20:-10])  # 2 s in, encoder tail aside
    if name in BINAURAL_BEATS_HZ:  # a different tone in each ear: headphones only, and said
        assert "headphones" in BACKGROUNDS[name]
    else:
        assert mono <= channel + 3.0, (mono, channel)


def test_the_pad_reaches_a_phone_speaker(tmp_path: Path, decode_mp3) -> None:
    audio = decode_mp3(_bed_mp3("pad", tmp_path / "pad.mp3")).samples[RATE:, 0]
    power = np.abs(np.fft.rfft(audio.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1 / RATE)
    assert 10 * np.log10(power[freqs > 300].sum() / power.sum()) >= -12.0
    envelope = check.decode_frames(tmp_path / "pad.mp3").block_db[20:-10, 2]
    assert envelope.max() - envelope.min() < 10  # it breathes, it doesn't pulse
