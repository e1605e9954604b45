"""Fitting a routine to the listener's body: pure Script -> Script.

`--skip GROUP` leaves an injured part out (the session says so once, before the first group);
`--gentle GROUP|all` tenses at about half strength, as back-care does; `--dominant right`
mirrors left and right in the muscle groups, so the dominant side comes first in each pair
(templates are written left first, as the source is). Group ids are the ids of the sections
that run through `[cycle]`; an unknown one is an error naming the valid ids of that routine.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..errors import TemplateError, did_you_mean
from .model import Line, Pause, Repeat, Script, Section
from .wording import (
    GENTLE_ADD,
    GENTLE_ADD_IF_GENTLE,
    GENTLE_ALL,
    LANGUAGES,
    SIDES,
    SKIP_NOTE,
    SKIP_PAUSE_S,
    SKIP_SECTION_ID,
    SKIP_TITLE,
    STRONG_WORDS,
    join_words,
)

SIDE_WORD = re.compile(r"\b(left|right)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Body:
    """The listener's body: groups to leave out, groups to tense gently, the dominant side."""

    skip: tuple[str, ...] = ()
    gentle: tuple[str, ...] = ()  # group ids, or ("all",)
    dominant: str = "left"

    @property
    def plain(self) -> bool:
        return not self.skip and not self.gentle and self.dominant == SIDES[0]

    def describe(self) -> str:
        """For the episode description and the manifest reader: '' when nothing is changed."""
        said = []
        if self.skip:
            said.append(f"left out to rest: {', '.join(self.skip)}")
        if self.gentle:
            said.append(f"gentle (half strength): {', '.join(self.gentle)}")
        if self.dominant != SIDES[0]:
            said.append(f"{self.dominant} side first")
        return "; ".join(said)


def adapt(script: Script, body: Body, key: str = "--{option}") -> Script:
    """The script for this body; `key` names the option in errors ('--skip', or a matrix key)."""
    check_body(script, body, key)
    if body.plain:
        return script
    if body.dominant != SIDES[0]:
        script = mirror(script)
    if body.gentle:
        script = soften(script, set(script.group_ids if GENTLE_ALL in body.gentle else body.gentle))
    if body.skip:
        script = leave_out(script, body.skip)
    return script


def check_body(script: Script, body: Body, key: str = "--{option}") -> None:
    """Every named group exists in this routine (mirroring keeps the set of ids)."""
    if body.dominant not in SIDES:
        raise TemplateError(
            f"{key.format(option='dominant')} {body.dominant!r}: valid: {', '.join(SIDES)}"
        )
    given = [o for o, v in (("skip", body.skip), ("gentle", body.gentle)) if v]
    given += ["dominant"] if body.dominant != SIDES[0] else []
    if given and script.language.split("-")[0] not in LANGUAGES:
        raise TemplateError(
            f"{key.format(option=given[0])}: routine {script.name} is in {script.language!r}; "
            f"the skip, gentle and dominant wording exists for: {', '.join(LANGUAGES)}"
        )
    valid = script.group_ids
    for option, names, extra in (("skip", body.skip, ()), ("gentle", body.gentle, (GENTLE_ALL,))):
        for name in names:
            if name not in valid and name not in extra:
                choices = ", ".join((*valid, *extra)) or "none (it has no muscle group)"
                raise TemplateError(
                    f"{key.format(option=option)} {name}: routine {script.name} has no muscle "
                    f"group {name!r}{did_you_mean(name, (*valid, *extra))}; valid: {choices}"
                )
    if body.skip and set(body.skip) >= set(valid):
        raise TemplateError(
            f"{key.format(option='skip')}: that leaves no muscle group of {script.name}; "
            "skip only some of them"
        )


def mirror(script: Script) -> Script:
    """Left and right swapped in every muscle group (ids, titles, words): right side first."""
    sections = tuple(_mirror_section(s) if s.group is not None else s for s in script.sections)
    renamed = {old.id: new.id for old, new in zip(script.sections, sections, strict=True)}
    drop = tuple(renamed.get(d, d) for d in script.drop)
    return dataclasses.replace(script, sections=sections, drop=drop)


def soften(script: Script, groups: set[str]) -> Script:
    """The tense line of every group in `groups` at half strength (its own `gentle` wording
    when the template gives one). The line gets its own id: a recording of the full-strength
    wording is not used for it."""
    sections = []
    for section in script.sections:
        if section.id in groups and section.group is not None:
            gentle = section.group.gentle or gentle_wording(section.group.tense)
            steps = tuple(
                Line(f"{step.id}-gentle", step.text.replace(section.group.tense, gentle))
                if isinstance(step, Line) and step.id == f"{section.id}.tense"
                else step
                for step in section.steps
            )
            section = dataclasses.replace(section, steps=steps)
        sections.append(section)
    return dataclasses.replace(script, sections=tuple(sections))


def gentle_wording(tense: str) -> str:
    """'Clench your left hand into a tight fist. Hold.' -> 'Clench your left hand into a fist,
    gently, at about half your strength. Hold.' (the strong words go, the half strength is
    said before the last 'Hold.', or at the end)."""
    text = re.sub(r" {2,}", " ", STRONG_WORDS.sub("", tense)).strip()
    add = GENTLE_ADD_IF_GENTLE if "gentl" in text.lower() else GENTLE_ADD
    head, dot, hold = text.rpartition(". Hold")
    if dot:
        return f"{head.rstrip(',.')}{add}. Hold{hold}"
    return f"{text.rstrip('.')}{add}."


def leave_out(script: Script, skip: tuple[str, ...]) -> Script:
    """Without the skipped groups; one line before the first group says which rest today."""
    groups = {s.id: s.group for s in script.sections if s.group is not None}
    parts = [groups[name].part for name in skip if groups.get(name) is not None]
    note = _skip_note(script, parts)
    kept: list[Section] = []
    for section in script.sections:
        if section.group is not None and note not in kept:
            kept.append(note)
        if section.id not in skip:
            kept.append(section)
    return dataclasses.replace(
        script,
        sections=tuple(kept),
        drop=tuple(d for d in script.drop if d not in skip),
        repeats=_respan(script.sections, tuple(kept), script.repeats),
    )


def _skip_note(script: Script, parts: list[str]) -> Section:
    ids = {s.id for s in script.sections}
    section_id = SKIP_SECTION_ID
    while section_id in ids:
        section_id += "-x"
    them = "it" if len(parts) == 1 else "them"
    text = SKIP_NOTE.format(parts=join_words(parts), them=them)
    pause = Pause("inline", SKIP_PAUSE_S, SKIP_PAUSE_S, SKIP_PAUSE_S)
    return Section(section_id, SKIP_TITLE, (Line(f"{section_id}.note", text), pause))


def _respan(
    before: tuple[Section, ...], after: tuple[Section, ...], repeats: tuple[Repeat, ...]
) -> tuple[Repeat, ...]:
    """Repeat spans moved to the new section indices; a span left empty is gone."""
    index = {s.id: i for i, s in enumerate(after)}
    moved = []
    for repeat in repeats:
        kept = [index[s.id] for s in before[repeat.first : repeat.last + 1] if s.id in index]
        if kept:
            moved.append(dataclasses.replace(repeat, first=kept[0], last=kept[-1]))
    return tuple(moved)


def _mirror_section(section: Section) -> Section:
    new_id = _swap_id(section.id)
    steps = tuple(
        Line(f"{new_id}.{step.id.partition('.')[2]}", swap_sides(step.text))
        if isinstance(step, Line)
        else step
        for step in section.steps
    )
    group = section.group
    assert group is not None
    group = dataclasses.replace(
        group,
        part=swap_sides(group.part),
        tense=swap_sides(group.tense),
        gentle=None if group.gentle is None else swap_sides(group.gentle),
    )
    return Section(new_id, swap_sides(section.title), steps, section.essential, group)


def swap_sides(text: str) -> str:
    """'Left' <-> 'Right', 'left' <-> 'right', keeping the capital."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        other = SIDES[1] if word.lower() == SIDES[0] else SIDES[0]
        return other.capitalize() if word[0].isupper() else other

    return SIDE_WORD.sub(swap, text)


def _swap_id(section_id: str) -> str:
    return "-".join(swap_sides(part) for part in section_id.split("-"))
