"""The built-in routines follow the seed practice; short real builds land within 0.5 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.build import BuildOptions, build
from pipeline.errors import VoiceError
from pipeline.fit import fit, reachable
from pipeline.template import Line, Pause, builtin_routines, load_script

from .conftest import SHORT_ROUTINE

RATE = 44_100
ROUTINES = ("full", "short", "quick", "sleep", "learn", "back-care", "completo-es")


def _groups(name: str) -> list[str]:
    """Muscle-group sections: those holding the tension."""
    script = load_script(name)
    return [
        s.id
        for s in script.sections
        if any(isinstance(x, Pause) and x.kind == "hold" for x in s.steps)
    ]


def _text(name: str) -> str:
    return " ".join(line.text for line in load_script(name).lines()).lower()


def test_every_routine_is_built_in_and_loads() -> None:
    assert set(ROUTINES) <= set(builtin_routines())


@pytest.mark.parametrize("name", ROUTINES)
def test_each_group_holds_5s_and_relaxes_at_least_15s(name: str) -> None:
    script = load_script(name)
    groups = _groups(name)
    assert groups
    for section in script.sections:
        if section.id in groups:
            _tense, hold, release, relax = section.steps
            assert isinstance(release, Line) and hold.fixed and hold.min_s == 5.0
            assert isinstance(relax, Pause) and not relax.fixed and relax.min_s >= 15.0


@pytest.mark.parametrize("name", ROUTINES)
def test_every_routine_reaches_10_to_30_minutes_with_typical_clips(name: str) -> None:
    """~15 characters a second: roughly the default voice (the script measures the real one)."""
    script = load_script(name)
    clips = {line.id: round(len(line.text) / 15 * RATE) for line in script.lines()}
    span = reachable(script, clips, RATE)
    assert span.low <= 10 * 60 * RATE and span.high >= 30 * 60 * RATE
    for minutes in (10, 20, 30):
        assert fit(script, clips, RATE, minutes * 60).total == minutes * 60 * RATE


def test_group_sets_match_their_purpose() -> None:
    assert len(_groups("full")) == 18 and _groups("completo-es") == _groups("full")
    assert _groups("quick") == ["legs", "arms", "torso", "face"]
    assert len(_groups("short")) == 8 and {"left-leg", "right-arm", "face"} <= set(_groups("short"))
    assert len(_groups("learn")) >= 8


def test_quick_and_short_reach_five_minutes() -> None:
    for name in ("quick", "short"):
        script = load_script(name)
        clips = {line.id: round(len(line.text) / 15 * RATE) for line in script.lines()}
        assert reachable(script, clips, RATE).low <= 5 * 60 * RATE


def test_sleep_has_no_wake_up_ending() -> None:
    script = load_script("sleep")
    text = _text("sleep")
    assert "open your eyes" not in text and "sleep" in text
    last = script.sections[-1].steps
    assert not any(getattr(s, "name", "") == "chime" for s in last)  # no bell to wake you
    assert isinstance(last[-1], Pause) and last[-1].max_s >= 120  # a long quiet end
    relax = next(
        s for sec in script.sections for s in sec.steps if getattr(s, "kind", "") == "relax"
    )
    assert relax.default_s > load_script("full").sections[5].steps[3].default_s  # slower


def test_learn_explains_before_practising() -> None:
    text = _text("learn")
    for phrase in ("five seconds", "notice the difference", "shooting pain", "twice a day"):
        assert phrase in text
    ids = [s.id for s in load_script("learn").sections]
    assert max(ids.index(i) for i in ids if i.startswith("tour-")) < ids.index(_groups("learn")[0])


def test_back_care_is_gentle_and_cautious() -> None:
    text = _text("back-care")
    for phrase in ("half", "arch", "shooting pain", "back pain", "stop tensing"):
        assert phrase in text


def test_spanish_routine_speaks_spanish() -> None:
    script = load_script("completo-es")
    assert script.language == "es"
    text = _text("completo-es")
    for phrase in ("cinco segundos", "quince", "dolor", "dos veces al día", "zapatos"):
        assert phrase in text


def test_an_english_voice_refuses_the_spanish_routine(tmp_path: Path) -> None:
    out = tmp_path / "es.mp3"
    with pytest.raises(
        VoiceError, match=r"piper-joe speaks 'en' but routine completo-es is in 'es'"
    ):
        build(BuildOptions(routine="completo-es", minutes=10, out=out))
    assert list(tmp_path.iterdir()) == []


GROWING = (
    SHORT_ROUTINE
    + """
[[sections]]
id = "extra"
title = "Extra"
steps = [{ id = "more", say = "Rest a little longer." }, { pause = "settle" }]

[fit]
drop = ["extra"]

[[fit.repeat]]
id = "again"
title = "Again"
from = "left-hand"
to = "right-hand"
times = 2
steps = [{ id = "lead", say = "Once more." }, { pause = "settle" }]
"""
)


@pytest.mark.parametrize(("minutes", "rounds"), [(1.0, 1), (2.4, 2)])
def test_short_builds_change_structure_and_land_within_half_a_second(
    minutes: float, rounds: int, tmp_path: Path, cache_dir: Path, decode_mp3
) -> None:
    routine = tmp_path / "growing.toml"
    routine.write_text(GROWING)
    result = build(
        BuildOptions(
            str(routine), minutes, out=tmp_path / "g.mp3", cache_dir=cache_dir, background="none"
        )
    )
    audio = decode_mp3(result.path)
    assert abs(audio.seconds - minutes * 60) < 0.5
    chapters = [c.id for c in result.timeline.chapters]
    assert chapters.count("again.2") == rounds - 1
    holds = [e for e in result.timeline.of_kind("pause") if e.ref == "hold"]
    assert len(holds) == 2 * rounds
    for hold in holds:  # each hold really is 5 s of no speech in the decoded audio
        assert audio.rms_db(hold.start / RATE + 0.15, hold.end / RATE - 0.05) < -60


def test_quick_at_its_shortest_drops_rest_only_with_every_relax_at_its_minimum() -> None:
    """Fitted with typical clips (a real build of quick is in scripts/measure_lengths.py)."""
    script = load_script("quick")
    clips = {line.id: round(len(line.text) / 15 * RATE) for line in script.lines()}
    span = reachable(script, clips, RATE)
    assert script.drop == ("rest",)
    for target in (span.low, span.low + 20 * RATE):
        timeline = fit(script, clips, RATE, target / RATE)
        assert timeline.total == target
        groups = [c.id for c in timeline.chapters if c.id in _groups("quick")]
        assert groups == ["legs", "arms", "torso", "face"]
        relax = [e.length / RATE for e in timeline.of_kind("pause") if e.ref == "relax"]
        assert min(relax) >= 15  # the relax never below its 15 s minimum
        if "rest" not in [c.id for c in timeline.chapters]:  # dropped only at the minimum
            assert max(relax) < 15 + 0.01


def test_a_routine_can_fade_out_slowly(tmp_path: Path, cache_dir: Path, decode_mp3) -> None:
    """Same timeline, with and without `fade_out = 20`: the bed is much softer 3-4 s from the
    end only with it (the default fade is 6 s)."""
    levels = []
    for name, extra in (("plain", ""), ("slow", "fade_out = 20\n")):
        routine = tmp_path / f"{name}.toml"
        routine.write_text(SHORT_ROUTINE.replace('language = "en"\n', f'language = "en"\n{extra}'))
        result = build(
            BuildOptions(str(routine), 1.2, out=tmp_path / f"{name}.mp3", cache_dir=cache_dir)
        )
        audio = decode_mp3(result.path)
        assert abs(audio.seconds - 72) < 0.5
        levels.append(audio.rms_db(audio.seconds - 4, audio.seconds - 3))
    plain, slow = levels
    assert slow < plain - 6
    assert load_script("sleep").fade_out_s >= 30
