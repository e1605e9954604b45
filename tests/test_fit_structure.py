"""The fitter over generated templates: exact to the sample, bounds kept, order kept, and a
clear range when the target is out of reach. Pure: no audio."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pipeline.errors import FitError
from pipeline.fit import describe_reach, fit, ladder, reachable, spans, spread
from pipeline.template import Cue, Line, Pause, Script, expand, load_script

RATE = 44_100


@st.composite
def templates(draw) -> dict:
    """A valid template document with fixed, elastic and inline pauses, drops and repeats."""
    kinds = draw(st.lists(st.sampled_from(["relax", "breath", "beat", "rest"]), unique=True))
    pauses: dict = {"hold": {"seconds": draw(st.sampled_from([0, 2, 5]))}}
    for kind in kinds:
        low = draw(st.floats(0, 20, allow_nan=False))
        default = low + draw(st.floats(0, 10, allow_nan=False))
        high = default + draw(st.floats(0, 60, allow_nan=False))
        weight = draw(st.floats(0.01, 100, allow_nan=False))
        pauses[kind] = {"min": low, "default": default, "max": high, "weight": weight}
    names = sorted(pauses)
    step = st.one_of(
        st.builds(lambda w: {"say": f"Words {w}."}, st.integers(0, 9)),
        st.builds(lambda n: {"pause": n}, st.sampled_from(names)),
        st.builds(lambda s: {"pause": s}, st.sampled_from([0.5, 1.25, 3])),
        st.just({"cue": "chime"}),
    )
    count = draw(st.integers(1, 6))
    sections = []
    for index in range(count):
        steps = draw(st.lists(step, min_size=1, max_size=6))
        sections.append({"id": f"s{index}", "title": f"Section {index}", "steps": steps})
    sections[0]["steps"].insert(0, {"say": "Hello."})  # at least one line
    ids = [s["id"] for s in sections]
    drop = draw(st.lists(st.sampled_from(ids), unique=True, max_size=count - 1))
    repeats, free = [], 0
    while free < count and draw(st.booleans()):
        first = draw(st.integers(free, count - 1))
        last = draw(st.integers(first, count - 1))
        entry = {"id": f"r{first}", "from": ids[first], "to": ids[last]}
        entry["times"] = draw(st.integers(2, 4))
        if draw(st.booleans()):
            entry |= {"title": "Again", "steps": [{"say": "Once more."}, {"pause": names[0]}]}
        repeats.append(entry)
        free = last + 1
    return {
        "routine": {"name": "gen", "title": "Generated", "language": "en"},
        "pauses": pauses,
        "sections": sections,
        "fit": {"drop": drop, "repeat": repeats},
    }


def _clip_frames(script: Script, data) -> dict[str, int]:
    return {line.id: data.draw(st.integers(1, 8 * RATE)) for line in script.lines()}


def _check_timeline(script: Script, timeline, target: int) -> None:
    """Everything a fitted timeline must keep, measured on its events alone."""
    assert timeline.total == target
    assert sum(e.length for e in timeline.events) == target
    assert [e.start for e in timeline.events[1:]] == [e.end for e in timeline.events[:-1]]
    named = {s.kind: s for sec in script.sections for s in sec.steps if isinstance(s, Pause)}
    for lead in (r.lead for r in script.repeats if r.lead):
        named |= {s.kind: s for s in lead.steps if isinstance(s, Pause)}
    sections = {s.id: s for s in script.sections}
    sections |= {r.lead.id: r.lead for r in script.repeats if r.lead}
    order = [s.id for s in script.sections]
    played = []
    for chapter in timeline.chapters:
        base, _, run = chapter.id.partition(".")
        events = [e for e in timeline.events if e.section == chapter.id]
        expected = sections[base].steps
        assert len(events) == len(expected), chapter.id  # every step, in order
        for event, step in zip(events, expected, strict=True):
            if isinstance(step, Line):
                assert (event.kind, event.ref) == ("line", step.id)
            elif isinstance(step, Cue):
                assert (event.kind, event.ref, event.length) == ("cue", step.name, 0)
            else:
                assert (event.kind, event.ref) == ("pause", step.kind)
                if step.fixed:  # fixed pauses untouched
                    assert event.length == round(step.min_s * RATE)
                else:  # elastic ones inside their bounds
                    assert step.min_s * RATE - 1 <= event.length <= step.max_s * RATE + 1
        played.append((base, int(run or 1)))
    first_runs = [order.index(b) for b, run in played if run == 1 and b in order]
    assert first_runs == sorted(first_runs) and len(set(first_runs)) == len(first_runs)
    dropped = [s for s in order if (s, 1) not in played]
    assert set(dropped) == set(script.drop[: len(dropped)])  # first named, first dropped
    for base, run in played:  # a later run only after the earlier one
        if run > 2 or (run == 2 and base in order):
            assert played.index((base, run - 1)) < played.index((base, run))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=templates(), data=st.data())
def test_any_feasible_target_is_hit_to_the_sample(document: dict, data) -> None:
    script = expand(document)
    clips = _clip_frames(script, data)
    every = spans(script, clips, RATE)
    span = data.draw(st.sampled_from(every))
    target = data.draw(st.integers(span.low, span.high))
    assume(target > 0)
    timeline = fit(script, clips, RATE, target / RATE)
    _check_timeline(script, timeline, target)


@settings(max_examples=100, deadline=None)
@given(document=templates(), data=st.data())
def test_an_infeasible_target_names_the_range(document: dict, data) -> None:
    script = expand(document)
    clips = _clip_frames(script, data)
    whole = reachable(script, clips, RATE)
    target = data.draw(
        st.one_of(st.integers(1, max(whole.low - 1, 1)), st.integers(whole.high + 1, 10**9))
    )
    assume(not any(s.low <= target <= s.high for s in spans(script, clips, RATE)))
    with pytest.raises(FitError) as info:
        fit(script, clips, RATE, target / RATE, label="gen with piper-joe")
    message = str(info.value)
    assert "is out of reach: gen with piper-joe can make" in message
    assert message.endswith(describe_reach(script, clips, RATE))
    reach = message.split("can make ")[1]
    numbers = [float(n) for n in re.findall(r"(\d+\.\d+) (?:to|min)", reach)]
    low, high = whole.low / RATE / 60, whole.high / RATE / 60
    assert low - 1e-4 <= numbers[0] <= low + 0.1  # rounded inwards: all of it reachable
    assert high - 0.1 <= numbers[-1] <= high + 1e-4 or message.endswith(f"only {low:.4f} min")


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_spread_fills_water_evenly_within_bounds(data) -> None:
    n = data.draw(st.integers(1, 30))
    low = np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n)))
    default = low + np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n)))
    high = default + np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n)))
    weight = np.array(data.draw(st.lists(st.floats(0.01, 100), min_size=n, max_size=n)))
    total = data.draw(st.integers(int(low.sum()), int(high.sum())))
    lengths = spread(low, default, high, weight, total)
    assert lengths.sum() == total
    assert np.all(lengths >= low) and np.all(lengths <= high)
    free = (lengths > low) & (lengths < high)  # not pinned at a bound: one common level
    levels = (lengths[free] - default[free]) / weight[free]
    if levels.size > 1:
        assert levels.max() - levels.min() <= 2 / weight[free].min() + 1e-6
    if total >= default.sum():
        assert np.all(lengths >= default)
    else:
        assert np.all(lengths <= default)


def test_relax_and_breathing_stretch_first() -> None:
    script = replace(load_script("full"), patter=())  # whole pauses, no patter inside
    clips = {line.id: 3 * RATE for line in script.lines()}
    natural = fit(script, clips, RATE, 1.0 * 60 * 12)  # near the natural length
    longer = fit(script, clips, RATE, natural.seconds + 120)
    assert [c.id for c in natural.chapters] == [c.id for c in longer.chapters]

    def growth(kind: str) -> float:
        a = [e.length for e in natural.of_kind("pause") if e.ref == kind]
        b = [e.length for e in longer.of_kind("pause") if e.ref == kind]
        return float(np.mean(np.subtract(b, a))) / RATE

    assert growth("relax") > 2 * growth("settle") > 0
    assert growth("breath") > 2 * growth("beat")
    holds = [e.length for e in longer.of_kind("pause") if e.ref == "hold"]
    assert set(holds) == {5 * RATE}


def test_structure_follows_the_length() -> None:
    """Short sessions drop optional sections in the template's order; long ones add rounds."""
    script = replace(load_script("full"), patter=())
    clips = {line.id: 3 * RATE for line in script.lines()}
    low, high = reachable(script, clips, RATE).low, reachable(script, clips, RATE).high
    shortest = fit(script, clips, RATE, low / RATE)
    ids = {c.id for c in shortest.chapters}
    assert not ids & set(script.drop) and "caution" in ids
    longest = fit(script, clips, RATE, high / RATE)
    chapters = [c.id for c in longest.chapters]
    assert "left-foot.2" in chapters and "second-round.2" in chapters
    assert (
        chapters.index("forehead")
        < chapters.index("second-round.2")
        < chapters.index("left-foot.2")
    )
    assert len(ladder(script)) == len(script.drop) + 1 + 4  # breathing 2..4, a second round
    relax = [e for e in longest.of_kind("pause") if e.ref == "relax"]
    assert len(relax) == 36 and all(e.length >= 15 * RATE for e in relax)
