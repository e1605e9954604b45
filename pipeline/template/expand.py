"""A parsed routine template -> Script: pure, so tests need no files.

Each part of the document is checked by its own small function. With `problems` (a list) every
independent check runs inside `where.item()`, so `pmr validate` gets every problem at once; a
check that fails gives its part's empty value and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from . import fitrules
from .model import ID_PATTERN, Line, Pause, Repeat, Script, Section
from .steps import parse_pause, parse_steps
from .tomlfile import KeyProblem, TemplateProblem, Where

ROUTINE_KEYS = ("name", "title", "language", "description", "fade_out")
MAX_FADE_OUT_S = 600.0
TOP_KEYS = ("routine", "pauses", "cycle", "sections", "fit")
SECTION_KEYS = ("id", "title", "steps", "tense", "release")
T = TypeVar("T")


def expand(
    document: Mapping[str, Any],
    source: str = "<template>",
    problems: list[TemplateProblem] | list[KeyProblem] | None = None,
) -> Script:
    """Turn a parsed template into a Script.

    With `problems` (a list), every problem found is appended there instead of raising the
    first one, and the returned Script is only as good as the template (for `pmr validate`).
    """
    where = Where(source, TemplateProblem, problems)  # type: ignore[arg-type]
    where.check_keys(document, TOP_KEYS, "")
    routine = _attempt(where, {}, _table, document, "routine", where)
    where.check_keys(routine, ROUTINE_KEYS, "routine")
    name = _attempt(where, "routine", _routine_name, routine, where)
    pauses = _pauses(document, where)
    cycle = _attempt(where, [], _cycle, document, where)
    sections = _sections(_section_docs(document, where), cycle, pauses, where)
    drop, repeats = _attempt(where, ((), ()), _fit, document, sections, pauses, where)
    _check_line_ids(sections, repeats, where)
    fade_out = _attempt(where, None, _fade_out, routine, where)
    title = _attempt(where, "", where.string, routine, "title", "routine")
    language = _attempt(where, "", where.string, routine, "language", "routine")
    return Script(
        name=name,
        title=title,
        language=language,
        description=str(routine.get("description", "")),
        sections=tuple(sections),
        drop=drop,
        repeats=repeats,
        fade_out_s=fade_out,
    )


def _attempt(where: Where, empty: T, check: Callable[..., T], *args: Any) -> T:
    """`check(*args)` as one independent item: `empty` when it failed in collecting mode."""
    with where.item():
        return check(*args)
    return empty


def _routine_name(routine: Mapping[str, Any], where: Where) -> str:
    name = where.string(routine, "name", "routine")
    if not ID_PATTERN.match(name):
        raise where.error("routine.name", f"{name!r} must be lowercase letters, digits and '-'")
    return name


def _pauses(document: Mapping[str, Any], where: Where) -> dict[str, Pause]:
    """`[pauses]`: named pauses; an invalid one stands in as 0 s so later steps can name it."""
    pauses: dict[str, Pause] = {}
    for kind, spec in _attempt(where, {}, _table, document, "pauses", where, False).items():
        pauses[kind] = _attempt(where, Pause(kind, 0.0, 0.0, 0.0), parse_pause, kind, spec, where)
    return pauses


def _cycle(document: Mapping[str, Any], where: Where) -> list[Any]:
    """`[cycle] steps`: the tense/release steps every muscle-group section expands."""
    cycle_doc = _table(document, "cycle", where, False)
    where.check_keys(cycle_doc, ("steps",), "cycle")
    cycle = cycle_doc.get("steps", [])
    if not isinstance(cycle, list):
        raise where.error("cycle.steps", "must be a list of steps")
    return cycle


def _section_docs(document: Mapping[str, Any], where: Where) -> list[Any]:
    docs = document.get("sections")
    if not isinstance(docs, list) or not docs:
        with where.item():
            raise where.error("sections", "needs at least one [[sections]] table")
        return []
    return docs


def _sections(
    docs: list[Any], cycle: list[Any], pauses: dict[str, Pause], where: Where
) -> list[Section]:
    sections: list[Section] = []
    seen_ids: set[str] = set()
    groups = 0  # muscle-group sections so far: cycle text variants rotate over them
    for index, doc in enumerate(docs):
        key = f"sections[{index}]"
        with where.item():
            section_id = _section_id(doc, key, seen_ids, where)
            is_group = "tense" in doc or "release" in doc
            groups += is_group
            sections.append(
                _section(doc, key, section_id, is_group, groups - 1, cycle, pauses, where)
            )
    return sections


def _section_id(doc: Any, key: str, seen_ids: set[str], where: Where) -> str:
    if not isinstance(doc, dict):
        raise where.error(key, "must be a table")
    where.check_keys(doc, SECTION_KEYS, key)
    section_id = where.string(doc, "id", key)
    if not ID_PATTERN.match(section_id):
        raise where.error(f"{key}.id", f"{section_id!r} must be lowercase letters, digits, '-'")
    if section_id in seen_ids:
        raise where.error(f"{key}.id", f"{section_id!r} is used by an earlier section")
    seen_ids.add(section_id)
    return section_id


def _section(
    doc: dict[str, Any],
    key: str,
    section_id: str,
    is_group: bool,
    variant: int,
    cycle: list[Any],
    pauses: dict[str, Pause],
    where: Where,
) -> Section:
    """A section of its own `steps`, or a muscle group: the cycle with `tense`/`release` filled."""
    title = where.string(doc, "title", key)
    if is_group and "steps" in doc:
        raise where.error(key, "give either 'steps' or 'tense' and 'release', not both")
    if is_group:
        if not cycle:
            raise where.error(key, "uses 'tense'/'release' but the template has no [cycle]")
        fill = {
            "{tense}": where.string(doc, "tense", key),
            "{release}": where.string(doc, "release", key),
        }
        raw_steps, steps_key = cycle, "cycle.steps"
    else:
        fill = {}
        raw_steps, steps_key = doc.get("steps"), f"{key}.steps"
        if not isinstance(raw_steps, list) or not raw_steps:
            raise where.error(key, "needs 'steps' (a list) or 'tense' and 'release'")
    steps = tuple(parse_steps(raw_steps, steps_key, section_id, variant, fill, pauses, where))
    return Section(section_id, title, steps)


def _fit(
    document: Mapping[str, Any], sections: list[Section], pauses: dict[str, Pause], where: Where
) -> tuple[tuple[str, ...], tuple[Repeat, ...]]:
    fit_doc = _table(document, "fit", where, False)
    where.check_keys(fit_doc, fitrules.FIT_KEYS, "fit")
    drop = fitrules.drop_order(fit_doc.get("drop", []), sections, where)
    return drop, fitrules.repeats(fit_doc.get("repeat", []), sections, pauses, where)


def _check_line_ids(sections: list[Section], repeats: tuple[Repeat, ...], where: Where) -> None:
    leads = [r.lead for r in repeats if r.lead is not None]
    line_ids = [line.id for s in [*sections, *leads] for line in s.steps if isinstance(line, Line)]
    with where.item():
        duplicates = sorted({i for i in line_ids if line_ids.count(i) > 1})
        if duplicates:
            raise where.error("sections", f"line ids used twice: {', '.join(duplicates)}")
    if sections and not line_ids:
        with where.item():
            raise where.error("sections", "the routine has no line to speak ('say' steps)")


def _fade_out(routine: Mapping[str, Any], where: Where) -> float | None:
    fade_out = routine.get("fade_out")
    if fade_out is None:
        return None
    if (
        isinstance(fade_out, bool)
        or not isinstance(fade_out, int | float)
        or not 0.5 <= fade_out <= MAX_FADE_OUT_S
    ):
        raise where.error(
            "routine.fade_out", f"must be a number of seconds, 0.5 to {MAX_FADE_OUT_S:g}"
        )
    return float(fade_out)


def _table(doc: Mapping[str, Any], name: str, where: Where, required: bool = True):
    value = doc.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise where.error(name, f"needs a [{name}] table")
    return value
