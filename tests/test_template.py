"""Templates: the built-in routine follows the seed; bad templates name the culprit."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from pipeline.errors import TemplateError
from pipeline.template import Cue, Line, Pause, builtin_routines, expand, load_script

SEED_ORDER = [
    "left-foot", "left-calf", "left-leg", "right-foot", "right-calf", "right-leg",
    "left-hand", "left-biceps", "right-hand", "right-biceps",
    "buttocks", "stomach", "chest", "neck", "shoulders", "mouth", "eyes", "forehead",
]  # fmt: skip


def test_full_routine_keeps_the_seed_order_of_muscle_groups() -> None:
    script = load_script("full")
    groups = [
        s.id
        for s in script.sections
        if any(isinstance(x, Pause) and x.kind == "hold" for x in s.steps)
    ]
    assert groups == SEED_ORDER


def test_each_group_tenses_holds_5s_releases_and_relaxes_at_least_15s() -> None:
    script = load_script("full")
    for section in script.sections:
        if section.id not in SEED_ORDER:
            continue
        kinds = [type(s).__name__ for s in section.steps]
        assert kinds == ["Line", "Pause", "Line", "Pause"], section.id
        _tense, hold, release, relax = section.steps
        assert hold.fixed and hold.min_s == 5.0
        assert not relax.fixed and relax.min_s >= 15.0
        assert "difference" in release.text.lower()


@pytest.mark.parametrize(
    "phrase",
    [
        "quiet",
        "shoes",
        "loose",
        "close your eyes",
        "learn each muscle group",
        "shooting pain",
        "back pain",
        "five seconds",
        "fifteen",
        "twice a day",
        "three or four times a week",
        "deep breath",
        "open your mouth wide",
        "eyelids",
        "eyebrows",
        "fist",
        "toes",
        "thigh",
        "buttocks",
        "stomach",
        "shoulders",
        "neck",
    ],
)
def test_full_routine_covers_every_instruction_of_the_seed(phrase: str) -> None:
    text = " ".join(line.text for line in load_script("full").lines()).lower()
    assert phrase in text


def test_full_routine_opens_and_closes_with_a_chime() -> None:
    script = load_script("full")
    assert isinstance(script.sections[0].steps[0], Cue)
    assert any(isinstance(s, Cue) for s in script.sections[-1].steps)


def test_line_ids_are_stable_and_unique() -> None:
    ids = [line.id for line in load_script("full").lines()]
    assert len(ids) == len(set(ids))
    assert "left-foot.tense" in ids and "caution.pain" in ids


def test_builtin_routines_all_load() -> None:
    assert "full" in builtin_routines()
    for name in builtin_routines():
        assert list(load_script(name).lines())


def _doc(mini_routine: Path) -> dict:
    return tomllib.loads(mini_routine.read_text())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["routine"].pop("name"), "routine.name"),
        (lambda d: d["routine"].update(titel="x"), "did you mean 'title'"),
        (lambda d: d.update(sectons=[]), "did you mean 'sections'"),
        (
            lambda d: d["pauses"].update(relax={"min": 20, "default": 16, "max": 40}),
            "min <= default",
        ),
        (lambda d: d["pauses"].update(hold={"seconds": -1}), "pauses.hold.seconds"),
        (lambda d: d["cycle"]["steps"][1].update(pause="holdd"), "did you mean 'hold'"),
        (lambda d: d["sections"][0]["steps"][2].update(say="   "), "is empty"),
        (lambda d: d["sections"][0]["steps"][2].update(say="<speak>hi</speak>"), "markup"),
        (lambda d: d["sections"][0]["steps"][2].update(say="hi\x07 there"), "control character"),
        (lambda d: d["sections"][0]["steps"][2].update(say="word " * 200), "characters"),
        (lambda d: d["sections"][0]["steps"][0].update(cue="gong"), "unknown cue 'gong'"),
        (lambda d: d["sections"][1].update(id="start"), "used by an earlier section"),
        (lambda d: d["sections"][1].update(steps=[]), "not both"),
        (lambda d: d.pop("sections"), "at least one [[sections]]"),
    ],
)
def test_invalid_templates_name_the_key(mini_routine: Path, change, expected: str) -> None:
    document = copy.deepcopy(_doc(mini_routine))
    change(document)
    with pytest.raises(TemplateError, match=None) as info:
        expand(document, source="mini.toml")
    assert expected in str(info.value)
    assert str(info.value).startswith("mini.toml")


def test_unreadable_templates_are_template_errors(tmp_path: Path) -> None:
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[routine\nname = 1")
    with pytest.raises(TemplateError, match=r"bad\.toml: invalid TOML"):
        load_script(str(bad_toml))
    latin1 = tmp_path / "latin.toml"
    latin1.write_bytes("title = 'caf\xe9'".encode("latin-1"))
    with pytest.raises(TemplateError, match="not UTF-8"):
        load_script(str(latin1))
    with pytest.raises(TemplateError, match="no such routine file"):
        load_script(str(tmp_path / "missing.toml"))
    with pytest.raises(TemplateError, match="did you mean 'full'"):
        load_script("fulll")


def test_cycle_expands_placeholders_and_rotates_variants(mini_routine: Path) -> None:
    document = _doc(mini_routine)
    document["cycle"]["steps"][2]["say"] = ["{release} One.", "{release} Two."]
    script = expand(document)
    lines = {line.id: line.text for line in script.lines()}
    assert lines["left-hand.tense"] == "Clench your left hand into a fist. Hold."
    assert lines["left-hand.release"] == "And release. One."
    assert lines["right-hand.release"] == "And release. Two."
    assert all(isinstance(s, Line | Pause | Cue) for sec in script.sections for s in sec.steps)
