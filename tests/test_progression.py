"""The clinical progression (seven, four, recall, counting), routine-level sound defaults, and
the program that walks through the progression."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, build
from pipeline.fit import fit, reachable
from pipeline.publish.program import DEFAULT_WEEKS, SCHEDULE, schedule
from pipeline.template import Pause, builtin_routines, load_script

from .conftest import SHORT_ROUTINE
from .test_sound import DENSE_ROUTINE, ebur128

RATE = 44_100
NEW = ("seven", "four", "recall", "counting")


def _clips(name: str, chars_per_s: float) -> dict[str, int]:
    return {
        line.id: round(len(line.text) / chars_per_s * RATE) for line in load_script(name).lines()
    }


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("chars_per_s", [12.0, 15.0, 18.0])  # slower and faster voices
def test_each_reaches_5_to_30_minutes(name: str, chars_per_s: float) -> None:
    script, clips = load_script(name), _clips(name, chars_per_s)
    span = reachable(script, clips, RATE)
    assert span.low <= 5 * 60 * RATE and span.high >= 30 * 60 * RATE
    for minutes in (5, 10, 20, 30):
        assert fit(script, clips, RATE, minutes * 60).total == minutes * 60 * RATE


def test_the_groups_follow_the_abbreviated_protocols() -> None:
    assert load_script("seven").group_ids == (
        "left-arm", "right-arm", "face", "neck", "trunk", "left-leg", "right-leg",
    )  # fmt: skip
    trunk = next(s for s in load_script("seven").sections if s.id == "trunk")
    assert all(word in trunk.title.lower() for word in ("chest", "shoulders", "back", "stomach"))
    assert load_script("four").group_ids == ("arms", "face-neck", "trunk", "legs")
    for name in ("seven", "four"):
        for section in load_script(name).sections:
            if section.group is not None:
                hold, relax = section.steps[1], section.steps[3]
                assert hold.kind == "hold" and hold.fixed and hold.min_s == 5.0
                assert relax.kind == "relax" and relax.min_s >= 15.0


def test_recall_never_tenses_and_counting_counts_one_to_ten() -> None:
    recall = load_script("recall")
    assert recall.group_ids == ("arms", "face-neck", "trunk", "legs")
    assert not any(
        isinstance(s, Pause) and s.kind == "hold" for x in recall.sections for s in x.steps
    )
    groups = [
        line.text.lower()
        for s in recall.sections
        if s.group
        for line in s.steps
        if hasattr(line, "text")
    ]
    assert not any(w in " ".join(groups) for w in ("tighten", "clench", "squeeze", "hold."))
    assert all("notice" in g or "relax" in g or "let it go" in g for g in groups)
    counting = load_script("counting")
    numbers = [line.text.split(".")[0] for line in counting.lines() if line.id.endswith(".count")]
    assert numbers == [
        "One",
        "Two",
        "Three",
        "Four",
        "Five",
        "Six",
        "Seven",
        "Eight",
        "Nine",
        "Ten",
    ]
    assert counting.group_ids == ()


def test_four_builds_at_5_minutes_within_half_a_second_and_fits_10_and_20(
    tmp_path: Path, cache_dir: Path, decode_mp3
) -> None:
    """One real build of the shortest of them (each routine's first build synthesizes all its
    lines: the suite stays fast; scripts/measure_lengths.py builds and decodes every routine at
    5, 10 and 20 minutes); its real clip lengths then fit 10 and 20 minutes to the sample."""
    out = tmp_path / "four.mp3"
    result = build(BuildOptions("four", 5, out=out, cache_dir=cache_dir, measure=False))
    assert abs(decode_mp3(out).seconds - 300) < 0.5
    for minutes in (10, 20):
        timeline = fit(result.script, result.clips.frames, RATE, minutes * 60)
        assert timeline.total == minutes * 60 * RATE


# --- routine-level defaults: loudness and background -----------------------------------------


def test_sleep_defaults_to_the_sleep_preset_and_a_quiet_bed() -> None:
    sleep = load_script("sleep")
    assert sleep.loudness == "sleep" and sleep.background == "ocean"
    assert load_script("full").loudness is None and load_script("full").background is None


def test_routine_loudness_is_the_default_and_the_cli_overrides_it(
    tmp_path: Path, cache_dir: Path
) -> None:
    """The dense test routine (mostly speech), so the bed doesn't dominate the gated loudness."""
    routine = tmp_path / "quiet.toml"
    routine.write_text(
        DENSE_ROUTINE.replace('language = "en"\n', 'language = "en"\nloudness = "sleep"\n'
                              'background = "brown"\n')
    )  # fmt: skip
    measured = {}
    for label, loudness in (("routine", ""), ("cli", "podcast")):
        out = tmp_path / f"{label}.mp3"
        build(BuildOptions(str(routine), 0.9, out=out, cache_dir=cache_dir, loudness=loudness))
        measured[label] = ebur128(out)
        entry = json.loads(out.with_suffix(".manifest.json").read_text())
        assert entry["inputs"]["background"] == "brown"
        assert entry["inputs"]["loudness"] == (loudness or "sleep")
    assert abs(measured["routine"][0] - -23.0) <= 1.0 and measured["routine"][1] <= -1.0
    assert abs(measured["cli"][0] - -16.0) <= 1.0


def test_a_bad_routine_default_names_the_key(tmp_path: Path) -> None:
    from pipeline.template import problems

    routine = tmp_path / "bad.toml"
    routine.write_text(
        SHORT_ROUTINE.replace('language = "en"\n', 'language = "en"\nloudness = "loud"\n'
                              'background = "oceann"\n')
    )  # fmt: skip
    found = [str(p) for p in problems(str(routine))]
    assert any("routine.loudness: 'loud'" in p for p in found), found
    assert any("routine.background: unknown background 'oceann' (did you mean 'ocean'?)" in p
               for p in found), found  # fmt: skip


# --- the program -----------------------------------------------------------------------------


def test_program_defaults_to_the_progression() -> None:
    start = datetime(2026, 12, 7, tzinfo=UTC).date()
    episodes = schedule(DEFAULT_WEEKS, start, tuple(builtin_routines()))
    assert [e.routine for e in episodes] == ["full", "full", "seven", "four", "recall", "counting"]
    assert ["twice a day" in e.title for e in episodes] == [True, True, True, False, False, False]
    assert all("once a day" in e.title for e in episodes[3:])
    for week, episode in enumerate(episodes, start=1):
        assert episode.title.startswith(f"Week {week}: ")
        assert episode.description.startswith(f"Week {week} of the practice. Purpose: ")
    assert [e.pub_date.date() - start for e in episodes] == [timedelta(weeks=w) for w in range(6)]
    assert [p.key for p in SCHEDULE] == ["full", "seven", "four", "recall", "counting"]
    # only `full` in a folder of routines: every week falls back to it, at a length it reaches
    assert {e.routine for e in schedule(8, start, ("full",))} == {"full"}
