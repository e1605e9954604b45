"""The listener's body: --skip, --gentle and --dominant, pure and in real builds and batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.batch import assess, expand, parse_matrix, run_batch
from pipeline.build import BuildOptions, build
from pipeline.errors import BatchError, TemplateError
from pipeline.fit import fit
from pipeline.template import Line, load_script
from pipeline.template.body import Body, adapt, gentle_wording

from .conftest import SHORT_ROUTINE

runner = CliRunner()
RATE = 44_100


def _texts(script) -> list[str]:
    return [line.text for line in script.lines()]


def _clips(script) -> dict[str, int]:
    return {line.id: round(len(line.text) / 15 * RATE) for line in script.lines()}


def test_skip_leaves_the_groups_out_and_says_so_once_even_in_a_second_round() -> None:
    script = adapt(load_script("full"), Body(skip=("left-hand", "right-calf")))
    ids = [s.id for s in script.sections]
    assert "left-hand" not in ids and "right-calf" not in ids and len(script.group_ids) == 16
    notes = [t for t in _texts(script) if "leave out" in t]
    assert notes == [
        "Today we leave out your left hand and your right calf, and let them rest. "
        "Keep them still and comfortable."
    ]
    assert ids.index("left-to-rest") == ids.index("left-foot") - 1  # before the first group
    first_skipped = adapt(load_script("seven"), Body(skip=("left-arm", "right-arm", "neck")))
    assert [s.id for s in first_skipped.sections].count("left-to-rest") == 1
    assert [t for t in _texts(first_skipped) if "leave out" in t] == [
        "Today we leave out your left arm, your right arm and your neck, and let them rest. "
        "Keep them still and comfortable."
    ]
    timeline = fit(script, _clips(script), RATE, 40 * 60)  # long: a second round
    chapters = [c.id for c in timeline.chapters]
    assert "left-foot.2" in chapters and "left-hand.2" not in chapters
    assert chapters.count("left-to-rest") == 1 and "left-to-rest.2" not in chapters
    spoken = [e.ref for e in timeline.of_kind("line")]
    assert spoken.count("left-to-rest.note") == 1
    assert not any(ref.startswith(("left-hand.", "right-calf.")) for ref in spoken)


def test_dominant_right_puts_the_right_side_first_in_each_pair() -> None:
    plain, mirrored = load_script("full"), adapt(load_script("full"), Body(dominant="right"))
    assert mirrored.group_ids[:6] == (
        "right-foot", "right-calf", "right-leg", "left-foot", "left-calf", "left-leg",
    )  # fmt: skip
    assert mirrored.group_ids[6:10] == ("right-hand", "right-biceps", "left-hand", "left-biceps")
    assert mirrored.group_ids[10:] == plain.group_ids[10:]
    first = next(s for s in mirrored.sections if s.group is not None)
    assert first.steps[0].text == "Curl the toes of your right foot. Hold."
    assert first.title == "Right foot and toes"
    assert set(mirrored.group_ids) == set(plain.group_ids)  # --skip takes the same ids
    seven = adapt(load_script("seven"), Body(dominant="right"))
    assert seven.group_ids == (
        "right-arm", "left-arm", "face", "neck", "trunk", "right-leg", "left-leg",
    )  # fmt: skip


def test_gentle_is_half_strength_wording_with_its_own_line_id() -> None:
    assert gentle_wording("Clench your left hand into a tight fist. Hold.") == (
        "Clench your left hand into a fist, gently, at about half your strength. Hold."
    )
    assert gentle_wording("Gently press your head back, and tense your neck. Hold.") == (
        "Gently press your head back, and tense your neck, at about half your strength. Hold."
    )
    script = adapt(load_script("full"), Body(gentle=("neck",)))
    neck = next(s for s in script.sections if s.id == "neck")
    assert neck.steps[0] == Line(
        "neck.tense-gentle", "Tense your neck, gently, at about half your strength. Hold."
    )
    others = [s.steps[0] for s in script.sections if s.group is not None and s.id != "neck"]
    assert all(not line.id.endswith("-gentle") for line in others)
    every = adapt(load_script("seven"), Body(gentle=("all",)))
    tense = [s.steps[0].text for s in every.sections if s.group is not None]
    assert len(tense) == 7 and all("half your strength" in t for t in tense)  # its own wording
    assert "Make a loose fist" in tense[0]
    recall = adapt(load_script("recall"), Body(gentle=("all",)))  # nothing tensed: no change
    assert recall == load_script("recall")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (Body(skip=("lefthand",)), "--skip lefthand: routine full has no muscle group 'lefthand' "
         "(did you mean 'left-hand'?); valid: left-foot, left-calf"),
        (Body(gentle=("arms",)), "--gentle arms: routine full has no muscle group 'arms'"),
        (Body(dominant="up"), "--dominant 'up': valid: left, right"),
    ],
)  # fmt: skip
def test_unknown_group_names_the_valid_ones(body: Body, message: str) -> None:
    with pytest.raises(TemplateError) as error:
        adapt(load_script("full"), body)
    assert message in str(error.value)
    if body.skip:
        assert str(error.value).endswith("eyes, forehead")


def test_routines_without_groups_or_english_wording_refuse_the_options() -> None:
    with pytest.raises(TemplateError, match=r"valid: none \(it has no muscle group"):
        adapt(load_script("counting"), Body(skip=("legs",)))
    with pytest.raises(TemplateError, match="leaves no muscle group"):
        adapt(load_script("four"), Body(skip=("arms", "face-neck", "trunk", "legs")))
    with pytest.raises(TemplateError, match="completo-es is in 'es'"):
        adapt(load_script("completo-es"), Body(dominant="right"))


def test_cli_unknown_group_is_exit_2_with_one_line(tmp_path: Path) -> None:
    from pipeline.cli import app

    out = tmp_path / "x.mp3"
    result = runner.invoke(
        app, ["build", "seven", "-m", "10", "--skip", "left-hand", "-o", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "pmr: error: --skip left-hand: routine seven has no muscle group 'left-hand' "
        "(did you mean 'left-arm'?); valid: left-arm, right-arm, face, neck, trunk, left-leg, "
        "right-leg"
    ]
    assert list(tmp_path.iterdir()) == []
    plan = runner.invoke(app, ["plan", "four", "-m", "10", "--gentle", "belly"])
    assert plan.exit_code == 2 and "valid: arms, face-neck, trunk, legs, all" in plan.output


def _vtt_lines(path: Path) -> list[str]:
    text = path.with_suffix(".vtt").read_text()
    return [b.splitlines()[-1] for b in text.split("\n\n") if "-->" in b]


def test_build_with_skip_gentle_and_dominant(tmp_path: Path, cache_dir: Path, decode_mp3) -> None:
    routine = tmp_path / "mini.toml"
    routine.write_text(SHORT_ROUTINE)
    out = tmp_path / "body.mp3"
    options = BuildOptions(
        str(routine), 1.2, out=out, cache_dir=cache_dir, background="none",
        skip=("right-hand",), gentle=("all",), dominant="right",
    )  # fmt: skip
    result = build(options)
    assert abs(decode_mp3(out).seconds - 72) < 0.5
    spoken = _vtt_lines(out)
    # mirrored: the right hand comes first, and rests; the left hand is tensed, gently
    assert (
        spoken[1]
        == "Today we leave out your right hand, and let it rest. Keep it still and comfortable."
    )
    assert (
        spoken[2] == "Clench your left hand into a fist, gently, at about half your strength. Hold."
    )
    assert [c.id for c in result.timeline.chapters] == ["start", "left-to-rest", "left-hand"]
    entry = json.loads(out.with_suffix(".manifest.json").read_text())
    assert entry["inputs"]["skip"] == ["right-hand"] and entry["inputs"]["gentle"] == ["all"]
    assert entry["inputs"]["dominant"] == "right"
    assert (
        "Adapted: left out to rest: right-hand; gentle (half strength): all; right side first"
        in (entry["description"])
    )


def test_batch_takes_the_body_options(tmp_path: Path, cache_dir: Path) -> None:
    routine = tmp_path / "mini.toml"
    routine.write_text(SHORT_ROUTINE)
    doc = {
        "matrix": {"routines": ["mini.toml"], "minutes": [1.1], "backgrounds": ["none"]},
        "output": {"dir": "out", "name": "{routine}-{dominant}-{skip}.mp3"},
        "options": {"dominant": "right"},
        "override": [{"match": {"minutes": 1.1}, "skip": "left-hand"}],
    }
    grid = parse_matrix(doc, source="m.toml", base=tmp_path)
    (variant,) = expand(grid)
    assert variant.out.name == "mini-right-left-hand.mp3"
    report = run_batch(assess((variant,)), cache_dir=cache_dir, jobs=1)
    assert [o.status for o in report.outcomes] == ["built"]
    entry = json.loads(variant.out.with_suffix(".manifest.json").read_text())
    assert entry["inputs"]["skip"] == ["left-hand"] and entry["inputs"]["dominant"] == "right"
    assert "leave out your left hand" in " ".join(_vtt_lines(variant.out))
    bad = dict(doc, override=[{"match": {"minutes": 1.1}, "skip": ["left-foot"]}])
    with pytest.raises(BatchError) as error:
        expand(parse_matrix(bad, source="m.toml", base=tmp_path))
    assert str(error.value) == (
        "m.toml: override[0].skip = left-foot: routine mini has no muscle group 'left-foot'; "
        "valid: left-hand, right-hand"
    )
    wrong_type = dict(doc, options={"gentle": 3})
    with pytest.raises(BatchError, match=r"options.gentle: 3 must be a name or a list of names"):
        parse_matrix(wrong_type, source="m.toml", base=tmp_path)
