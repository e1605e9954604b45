"""A template's `[fit]` table: the sections short sessions drop, the ones long sessions repeat."""

from __future__ import annotations

from typing import Any

from ..errors import did_you_mean
from .model import ID_PATTERN, Pause, Repeat, Section
from .steps import parse_steps
from .tomlfile import Where

FIT_KEYS = ("drop", "repeat")
REPEAT_KEYS = ("id", "title", "from", "to", "times", "steps")
MAX_REPEAT_TIMES = 20


def drop_order(value: Any, sections: list[Section], where: Where) -> tuple[str, ...]:
    """`[fit] drop`: optional section ids, the first one is left out first."""
    ids = [s.id for s in sections]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error("fit.drop", "must be a list of section ids")
    for index, section_id in enumerate(value):
        with where.item():
            if section_id not in ids:
                raise where.error(
                    f"fit.drop[{index}]",
                    f"no section {section_id!r}{did_you_mean(section_id, ids)}",
                )
            if section_id in value[:index]:
                raise where.error(f"fit.drop[{index}]", f"{section_id!r} is named twice")
    if sections and set(value) >= set(ids):
        raise where.error("fit.drop", "leaves no section to keep; name only optional ones")
    return tuple(value)


def repeats(
    value: Any, sections: list[Section], pauses: dict[str, Pause], where: Where
) -> tuple[Repeat, ...]:
    """`[[fit.repeat]]`: spans of sections that may run again, in the order runs are added."""
    if not isinstance(value, list):
        raise where.error("fit.repeat", "must be [[fit.repeat]] tables")
    ids = [s.id for s in sections]
    found: list[Repeat] = []
    taken: set[int] = set()  # section indices already in a span
    for index, doc in enumerate(value):
        with where.item():
            found.append(_repeat(doc, f"fit.repeat[{index}]", ids, taken, pauses, where))
    return tuple(found)


def _repeat(
    doc: Any, key: str, ids: list[str], taken: set[int], pauses: dict[str, Pause], where: Where
) -> Repeat:
    if not isinstance(doc, dict):
        raise where.error(key, "must be a table")
    where.check_keys(doc, REPEAT_KEYS, key)
    repeat_id = where.string(doc, "id", key)
    if not ID_PATTERN.match(repeat_id) or repeat_id in ids:
        raise where.error(
            f"{key}.id",
            f"{repeat_id!r} must be lowercase letters, digits, '-' and not a section id",
        )
    first, last = _span(doc, key, ids, taken, where)
    times = doc.get("times")
    if isinstance(times, bool) or not isinstance(times, int):
        raise where.error(f"{key}.times", "needs a whole number of runs (2 or more)")
    if not 2 <= times <= MAX_REPEAT_TIMES:
        raise where.error(f"{key}.times", f"{times} must be 2 to {MAX_REPEAT_TIMES}")
    lead = None
    if "steps" in doc:
        raw = doc["steps"]
        if not isinstance(raw, list) or not raw:
            raise where.error(f"{key}.steps", "must be a non-empty list of steps")
        title = where.string(doc, "title", key)
        steps = tuple(parse_steps(raw, f"{key}.steps", repeat_id, 0, {}, pauses, where))
        lead = Section(repeat_id, title, steps)
    return Repeat(repeat_id, first, last, times, lead)


def _span(doc: dict, key: str, ids: list[str], taken: set[int], where: Where) -> tuple[int, int]:
    """Indices of the `from` and `to` sections; the span is added to `taken`."""
    span = []
    for end in ("from", "to"):
        section_id = doc.get(end, doc.get("from"))
        if not isinstance(section_id, str) or section_id not in ids:
            raise where.error(
                f"{key}.{end}",
                f"no section {section_id!r}{did_you_mean(str(section_id), ids)}",
            )
        span.append(ids.index(section_id))
    first, last = span
    if last < first:
        raise where.error(f"{key}.to", f"{doc['to']!r} comes before {doc['from']!r}")
    if taken & set(range(first, last + 1)):
        raise where.error(key, "overlaps an earlier [[fit.repeat]] span")
    taken |= set(range(first, last + 1))
    return first, last
