"""Fitting: exact length to the sample, bounds kept, clear errors when out of reach."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import FitError
from pipeline.fit import fit, reachable
from pipeline.template import Pause, expand

from .conftest import SHORT_ROUTINE

RATE = 44_100


def _script(mini_routine: Path):
    return expand(tomllib.loads(mini_routine.read_text()))


def _clips(script, frames: int = 3 * RATE) -> dict[str, int]:
    return {line.id: frames for line in script.lines()}


def test_fit_lands_on_the_target_to_the_sample(mini_routine: Path) -> None:
    script = _script(mini_routine)
    clips = _clips(script)
    for seconds in (70.0, 75.5, 90.0, 123.456):
        timeline = fit(script, clips, RATE, seconds)
        assert timeline.total == round(seconds * RATE)
        assert sum(e.length for e in timeline.events) == timeline.total
        ends = [e.start + e.length for e in timeline.events]
        assert [e.start for e in timeline.events[1:]] == ends[:-1]  # contiguous, in order


def test_fixed_pauses_never_change_and_elastic_ones_stay_in_bounds(mini_routine: Path) -> None:
    script = _script(mini_routine)
    span = reachable(script, _clips(script), RATE)
    for target in (span.low, (span.low + span.high) // 2, span.high):
        timeline = fit(script, _clips(script), RATE, target / RATE)
        pauses = [s for sec in script.sections for s in sec.steps if isinstance(s, Pause)]
        for pause, event in zip(pauses, timeline.of_kind("pause"), strict=True):
            if pause.fixed:
                assert event.length == 5 * RATE
            assert pause.min_s * RATE - 1 <= event.length <= pause.max_s * RATE + 1


def test_out_of_reach_names_the_range(mini_routine: Path) -> None:
    script = _script(mini_routine)
    with pytest.raises(FitError, match=r"mini with piper-joe can make 1\.\d to 2\.\d min"):
        fit(script, _clips(script), RATE, 600, label="mini with piper-joe")
    with pytest.raises(FitError, match="can make"):
        fit(script, _clips(script), RATE, 10)
    for bad in (0.0, -5.0, float("nan"), float("inf")):
        with pytest.raises(FitError):
            fit(script, _clips(script), RATE, bad)


def test_chapters_start_where_their_sections_start(mini_routine: Path) -> None:
    script = _script(mini_routine)
    timeline = fit(script, _clips(script), RATE, 90)
    for chapter in timeline.chapters:
        first = next(e for e in timeline.events if e.section == chapter.id)
        assert chapter.start == first.start


@settings(max_examples=60, deadline=None)
@given(
    clip_frames=st.lists(st.integers(1_000, 10 * RATE), min_size=5, max_size=5),
    position=st.floats(0.0, 1.0),
)
def test_any_reachable_target_is_hit_exactly(clip_frames, position) -> None:
    script = expand(tomllib.loads(SHORT_ROUTINE))
    clips = dict(zip([line.id for line in script.lines()], clip_frames, strict=True))
    span = reachable(script, clips, RATE)
    target = span.low + round(position * (span.high - span.low))
    timeline = fit(script, clips, RATE, target / RATE)
    assert timeline.total == target
    assert [e.ref for e in timeline.of_kind("line")] == [line.id for line in script.lines()]
