"""Guidance that grows with the session: essential sections are never dropped, pauses shrink
before any optional section goes, and long pauses carry patter, never inside the 5 s hold,
with the timeline exact to the sample. Pure properties first, then real builds decoded."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline.build import BuildOptions, build
from pipeline.cli import app
from pipeline.fit import Event, Timeline, fit, reachable, spans
from pipeline.patter import is_patter
from pipeline.template import Pause, Script, expand, load_script
from pipeline.tuning import PATTER_LEAD_S

from .test_fit_structure import _check_timeline, _clip_frames, templates

RATE = 44_100
runner = CliRunner()

# Every instruction of the source practice (seed text), as the default session words it.
SOURCE_INSTRUCTIONS = (
    "quiet, comfortable place",
    "free from outside distractions",
    "remove your shoes",
    "loose, comfortable clothing",
    "close your eyes",
    "learn each muscle group, and how to tense and relax it",
    "hold the tension for about five seconds",
    "relax for at least fifteen",
    "some discomfort or shaking is normal",
    "intense, shooting pain, stop tensing and relax",
    "worsen back pain",
    "curl the toes of your left foot",
    "tighten your left calf",
    "tense your entire left leg. squeeze your thigh muscle",
    "curl the toes of your right foot",
    "tighten your right calf",
    "tense your entire right leg",
    "clench your left hand into a tight fist",
    "clench your right hand into a tight fist",
    "towards your shoulder, and tighten your biceps",
    "pull your buttocks together",
    "suck your stomach in",
    "take a deep breath, and tighten your chest",
    "tense your neck",
    "raise your shoulders",
    "open your mouth wide",
    "clench your eyelids shut",
    "raise your eyebrows as far as they can go",
    "notice the difference between tension and relaxation",
    "exhale",
    "loose and limp",
    "twice a day until you get used to it",
    "once a day, or three or four times a week",
)


@st.composite
def guided(draw) -> dict:
    """A generated template with essential sections, a patter pool and a short max_silence."""
    document = draw(templates())
    dropped = set(document["fit"]["drop"])
    for section in document["sections"]:
        if section["id"] not in dropped and draw(st.booleans()):
            section["essential"] = True
    elastic = [k for k, p in document["pauses"].items() if "min" in p]
    for kind in draw(st.lists(st.sampled_from(elastic), unique=True)) if elastic else []:
        document["pauses"][kind]["patter"] = "calm"
    document["patter"] = {"calm": [f"Calm {n}." for n in range(draw(st.integers(1, 5)))]}
    document["routine"]["max_silence"] = 10
    return document


def _pieces(timeline: Timeline) -> list[list[Event]]:
    """Runs of consecutive events that make one fitted pause: pause (line pause)*."""
    runs: list[list[Event]] = []
    for event in timeline.events:
        if (runs and is_patter(event.ref)) or (
            runs and event.kind == "pause" and is_patter(runs[-1][-1].ref)
        ):
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


def _merged(timeline: Timeline) -> Timeline:
    events = []
    for run in _pieces(timeline):
        first = run[0]
        events.append(replace(first, length=run[-1].end - first.start))
    return replace(timeline, events=tuple(events))


def _fitted(document: dict, data) -> tuple[Script, dict[str, int], int, Timeline]:
    """The generated template fitted to a drawn length it can reach (frames)."""
    script = expand(document)
    clips = _clip_frames(script, data)
    span = data.draw(st.sampled_from(spans(script, clips, RATE)))
    target = data.draw(st.integers(span.low, span.high))
    assume(target > 0)
    timeline = fit(script, clips, RATE, target / RATE)
    return script, clips, target, timeline


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=guided(), data=st.data())
def test_essentials_stay_patter_avoids_holds_and_the_length_is_exact(document, data) -> None:
    script, _, target, timeline = _fitted(document, data)
    _check_timeline(script, _merged(timeline), target)  # exact, bounds kept, order kept
    played = {c.id.partition(".")[0] for c in timeline.chapters}
    assert {s.id for s in script.sections if s.essential} <= played
    leads = [r.lead for r in script.repeats if r.lead is not None]
    steps = [p for s in (*script.sections, *leads) for p in s.steps]
    kinds = {p.kind: p for p in steps if isinstance(p, Pause)}  # a repeat's lead-in too
    used = []
    for run in _pieces(timeline):
        lines = [e for e in run if is_patter(e.ref)]
        if not lines:
            continue
        pause = kinds[run[0].ref]
        assert pause.patter == "calm" and not pause.silent and not pause.fixed  # never a hold
        gaps = [e.length for e in run if e.kind == "pause"]
        assert min(gaps) >= PATTER_LEAD_S * RATE  # not in the first seconds after a release
        head = min(round(pause.min_s * RATE), run[-1].end - run[0].start)
        assert gaps[0] >= head - 1  # the pause's own minimum stays silent first
        assert max(gaps[1:]) - min(gaps[1:]) <= 1 and len(gaps) == len(lines) + 1  # evenly
        assert gaps[0] >= max(gaps[1:]) - 1  # the first gap is the even one or longer
        used += [e.ref for e in lines]
    pool = [line.id for line in script.pool("calm")]
    assert used == [pool[i % len(pool)] for i in range(len(used))]  # rotation, no early repeat


@settings(max_examples=50, deadline=None)
@given(document=guided(), data=st.data())
def test_sections_drop_only_when_pauses_at_their_minimum_cannot_reach(document, data) -> None:
    script, clips, target, timeline = _fitted(document, data)
    played = {c.id for c in timeline.chapters}
    dropped = [s for s in script.drop if s not in played]
    if dropped:
        fewer = replace(script, drop=script.drop[: len(dropped) - 1])
        assert not any(s.low <= target <= s.high for s in spans(fewer, clips, RATE))


def _typical(script: Script) -> dict[str, int]:
    """~15 characters a second: roughly the default voice (as in test_routines)."""
    return {line.id: round(len(line.text) / 15 * RATE) for line in script.lines()}


@pytest.mark.parametrize("minutes", [10, 20, 30])
def test_full_keeps_every_section_and_its_silences_short(minutes: int) -> None:
    script = load_script("full")
    timeline = fit(script, _typical(script), RATE, minutes * 60)
    played = {c.id for c in timeline.chapters}
    assert {s.id for s in script.sections if s.essential} <= played
    assert {"preparation", "learning", "caution", "advice"} <= {
        s.id for s in script.sections if s.essential
    }
    first = next(e for e in timeline.events if e.kind == "line")
    assert first.start <= 4 * RATE
    ending = timeline.total - 60 * RATE
    pauses = [e for e in timeline.of_kind("pause") if e.end < ending]
    assert max(e.length for e in pauses) <= 25 * RATE
    events = timeline.events
    after_release = [
        b for a, b in itertools.pairwise(events) if b.ref == "relax" and not is_patter(a.ref)
    ]
    assert after_release and min(e.length for e in after_release) >= 15 * RATE  # before patter
    if minutes >= 20:
        assert any(is_patter(e.ref) for e in timeline.events)


def test_essential_and_patter_mistakes_name_the_key(tmp_path: Path) -> None:
    text = Path("pipeline/routines/full.toml").read_text()
    cases = {
        'drop = ["rest"': ('drop = ["advice"', "fit.drop[0]: 'advice' is essential"),
        'patter = "deepen"': ('patter = "deep"', "pauses.relax.patter: no pool 'deep'"),
        "silent = true": ('silent = "yes"', "pauses.tail.silent: 'yes' must be true or false"),
        'name = "full"': ('name = "full"\nmax_silence = 2', "routine.max_silence: 2 must be"),
    }
    for old, (new, message) in cases.items():
        path = tmp_path / "mine.toml"
        path.write_text(text.replace(old, new, 1))
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output


def test_plan_shows_patter_lines() -> None:
    result = runner.invoke(app, ["plan", "full", "-m", "20"])
    assert result.exit_code == 0, result.output
    texts = {line.text for line in load_script("full").pool("deepen")}
    rows = [r for r in result.output.splitlines() if ' patter "' in r]
    assert rows and all(r.split('patter "', 1)[1].rstrip('."') for r in rows)
    assert any(t[:40] in result.output for t in texts)


def _voice_free_runs(samples: np.ndarray, rate_hz: int, window_s: float = 0.1) -> np.ndarray:
    """Lengths (s) of stretches quieter than -50 dBFS, in 100 ms windows: no voice there
    (these builds have no background and no chimes, so anything louder is the voice)."""
    window = round(window_s * rate_hz)
    usable = samples[: samples.shape[0] // window * window].astype(np.float64)
    rms = np.sqrt(np.mean(usable.reshape(-1, window * usable.shape[1]) ** 2, axis=1))
    quiet = np.concatenate([[0], (20 * np.log10(rms + 1e-12) < -50).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(quiet))  # starts and ends of quiet runs, in pairs
    return (edges[1::2] - edges[0::2]) * window_s


def test_twenty_minute_full_never_falls_silent_for_30s(tmp_path, cache_dir, decode_mp3) -> None:
    options = BuildOptions(
        "full", 20, out=tmp_path / "full-20.mp3", cache_dir=cache_dir, background="none",
        chimes=False, measure=False, sidecars=False,
    )  # fmt: skip
    result = build(options)
    decoded = decode_mp3(result.path)
    assert abs(decoded.seconds - 1200) < 0.5
    body = decoded.samples[: round((decoded.seconds - 60) * decoded.rate_hz)]
    longest = max(_voice_free_runs(body, decoded.rate_hz))
    assert longest <= 30, f"{longest:.1f} s without a voice"
    assert any(is_patter(e.ref) for e in result.timeline.events)


def test_default_session_transcript_says_every_instruction(tmp_path, cache_dir) -> None:
    out = tmp_path / "full-10.mp3"
    build(BuildOptions("full", 10, out=out, cache_dir=cache_dir, background="none", measure=False))
    transcript = " ".join(out.with_suffix(".vtt").read_text().lower().split())
    missing = [i for i in SOURCE_INSTRUCTIONS if i not in transcript]
    assert not missing, missing


def test_every_patter_routine_reaches_5_or_10_to_30_minutes() -> None:
    for name in ("full", "short", "learn", "back-care", "sleep"):
        script = load_script(name)
        assert script.pool("deepen"), name
        span = reachable(script, _typical(script), RATE)
        assert span.low <= 10 * 60 * RATE and span.high >= 30 * 60 * RATE, name
