"""Routine templates (TOML) -> Script: ordered lines, pauses with bounds, cues, sections.

Loading is the only effect here; `expand` is a pure function of the parsed document.
The format is documented in the README ("Routine templates").
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import TemplateError, did_you_mean
from .tuning import CUE_NAMES, MAX_LINE_CHARS


@dataclass(frozen=True)
class Line:
    """One spoken line; `id` is stable across edits so recordings and caches can follow it."""

    id: str
    text: str


@dataclass(frozen=True)
class Pause:
    """Silence between lines, in seconds: fixed when min == max (the 5 s hold), else elastic."""

    kind: str
    min_s: float
    default_s: float
    max_s: float

    @property
    def fixed(self) -> bool:
        return self.min_s == self.max_s


@dataclass(frozen=True)
class Cue:
    """A sound (e.g. a chime) mixed in at this point; it takes no time of its own."""

    name: str


Step = Line | Pause | Cue


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Script:
    """An expanded routine: everything the narrator and the fitter need, nothing about audio."""

    name: str
    title: str
    language: str
    description: str
    sections: tuple[Section, ...]

    def lines(self) -> Iterator[Line]:
        for section in self.sections:
            for step in section.steps:
                if isinstance(step, Line):
                    yield step


ROUTINE_KEYS = ("name", "title", "language", "description")
TOP_KEYS = ("routine", "pauses", "cycle", "sections")
SECTION_KEYS = ("id", "title", "steps", "tense", "release")
STEP_KEYS = ("id", "say", "pause", "cue")
PAUSE_KEYS = ("seconds", "min", "default", "max")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MARKUP = re.compile(r"<[^>]*>|&[a-zA-Z#0-9]+;")


def builtin_routines() -> list[str]:
    """Names of the routines shipped with pmr."""
    folder = resources.files("pipeline") / "routines"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def resolve_routine(name_or_path: str) -> Path:
    """A built-in routine name or a path to a user's TOML file."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise TemplateError(f"{name_or_path}: no such routine file")
        return path
    builtin = resources.files("pipeline") / "routines" / f"{name_or_path}.toml"
    if not builtin.is_file():
        raise TemplateError(
            f"unknown routine {name_or_path!r}{did_you_mean(name_or_path, builtin_routines())}; "
            f"built-in routines: {', '.join(builtin_routines())} (or give a path to a .toml file)"
        )
    return Path(str(builtin))


def load_script(name_or_path: str) -> Script:
    """Read, validate and expand a routine template."""
    path = resolve_routine(name_or_path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise TemplateError(f"{path}: can't read it ({exc.strerror})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: invalid TOML: {exc}") from None
    return expand(document, source=str(path))


def expand(document: Mapping[str, Any], source: str = "<template>") -> Script:
    """Turn a parsed template into a Script: pure, so tests need no files."""
    where = _Where(source)
    _check_keys(document, TOP_KEYS, where, "")
    routine = _table(document, "routine", where, "")
    _check_keys(routine, ROUTINE_KEYS, where, "routine")
    name = _string(routine, "name", where, "routine")
    if not ID_PATTERN.match(name):
        raise where.error("routine.name", f"{name!r} must be lowercase letters, digits and '-'")
    pauses = {
        kind: _pause(kind, spec, where)
        for kind, spec in _table(document, "pauses", where, "", required=False).items()
    }
    cycle_doc = _table(document, "cycle", where, "", required=False)
    _check_keys(cycle_doc, ("steps",), where, "cycle")
    cycle = cycle_doc.get("steps", [])
    sections_doc = document.get("sections")
    if not isinstance(sections_doc, list) or not sections_doc:
        raise where.error("sections", "needs at least one [[sections]] table")

    sections: list[Section] = []
    seen_ids: set[str] = set()
    groups = 0  # muscle-group sections so far: cycle text variants rotate over them
    for index, section_doc in enumerate(sections_doc):
        key = f"sections[{index}]"
        if not isinstance(section_doc, dict):
            raise where.error(key, "must be a table")
        _check_keys(section_doc, SECTION_KEYS, where, key)
        section_id = _string(section_doc, "id", where, key)
        if not ID_PATTERN.match(section_id):
            raise where.error(f"{key}.id", f"{section_id!r} must be lowercase letters, digits, '-'")
        if section_id in seen_ids:
            raise where.error(f"{key}.id", f"{section_id!r} is used by an earlier section")
        seen_ids.add(section_id)
        title = _string(section_doc, "title", where, key)
        is_group = "tense" in section_doc or "release" in section_doc
        if is_group and "steps" in section_doc:
            raise where.error(key, "give either 'steps' or 'tense' and 'release', not both")
        if is_group:
            if not cycle:
                raise where.error(key, "uses 'tense'/'release' but the template has no [cycle]")
            fill = {
                "{tense}": _string(section_doc, "tense", where, key),
                "{release}": _string(section_doc, "release", where, key),
            }
            raw_steps, steps_key = cycle, "cycle.steps"
            groups += 1
        else:
            fill = {}
            raw_steps, steps_key = section_doc.get("steps"), f"{key}.steps"
            if not isinstance(raw_steps, list) or not raw_steps:
                raise where.error(key, "needs 'steps' (a list) or 'tense' and 'release'")
        steps = tuple(_steps(raw_steps, steps_key, section_id, groups - 1, fill, pauses, where))
        sections.append(Section(section_id, title, steps))

    line_ids = [line.id for s in sections for line in s.steps if isinstance(line, Line)]
    duplicates = sorted({i for i in line_ids if line_ids.count(i) > 1})
    if duplicates:
        raise where.error("sections", f"line ids used twice: {', '.join(duplicates)}")
    if not line_ids:
        raise where.error("sections", "the routine has no line to speak ('say' steps)")
    return Script(
        name=name,
        title=_string(routine, "title", where, "routine"),
        language=_string(routine, "language", where, "routine"),
        description=str(routine.get("description", "")),
        sections=tuple(sections),
    )


def _steps(
    raw_steps: list[Any],
    key: str,
    section_id: str,
    variant: int,
    fill: dict[str, str],
    pauses: dict[str, Pause],
    where: _Where,
) -> Iterator[Step]:
    line_number = 0
    for index, raw in enumerate(raw_steps):
        step_key = f"{key}[{index}]"
        if not isinstance(raw, dict):
            raise where.error(step_key, 'must be a table like { say = "..." }')
        _check_keys(raw, STEP_KEYS, where, step_key)
        kinds = [k for k in ("say", "pause", "cue") if k in raw]
        if len(kinds) != 1:
            raise where.error(step_key, "needs exactly one of 'say', 'pause' or 'cue'")
        if "say" in raw:
            line_number += 1
            text = raw["say"]
            if isinstance(text, list) and text and all(isinstance(t, str) for t in text):
                text = text[variant % len(text)]
            if not isinstance(text, str):
                raise where.error(f"{step_key}.say", "must be a string or a list of strings")
            for placeholder, value in fill.items():
                text = text.replace(placeholder, value)
            line_id = f"{section_id}.{raw.get('id', line_number)}"
            yield Line(line_id, _clean_text(text, where, f"{step_key}.say"))
        elif "pause" in raw:
            yield _pause_step(raw["pause"], pauses, where, f"{step_key}.pause")
        else:
            if raw["cue"] not in CUE_NAMES:
                raise where.error(
                    f"{step_key}.cue", f"unknown cue {raw['cue']!r}; valid: {', '.join(CUE_NAMES)}"
                )
            yield Cue(raw["cue"])


def _pause_step(value: Any, pauses: dict[str, Pause], where: _Where, key: str) -> Pause:
    if isinstance(value, bool):
        raise where.error(key, "must be a pause name or a number of seconds")
    if isinstance(value, int | float):
        return _pause("inline", {"seconds": value}, where, key)
    if isinstance(value, str) and value in pauses:
        return pauses[value]
    valid = ", ".join(sorted(pauses)) or "none defined in [pauses]"
    raise where.error(
        key, f"unknown pause {value!r}{did_you_mean(str(value), pauses)}; valid: {valid}"
    )


def _pause(kind: str, spec: Any, where: _Where, key: str | None = None) -> Pause:
    key = key or f"pauses.{kind}"
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        spec = {"seconds": spec}
    if not isinstance(spec, dict):
        raise where.error(key, "must be { seconds = N } or { min = A, default = B, max = C }")
    _check_keys(spec, PAUSE_KEYS, where, key)
    values = {}
    for name, value in spec.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
            raise where.error(f"{key}.{name}", f"{value!r} must be a number of seconds, 0 to 3600")
        values[name] = float(value)
    if "seconds" in values:
        if len(values) > 1:
            raise where.error(key, "give either 'seconds' (fixed) or min/default/max (elastic)")
        s = values["seconds"]
        return Pause(kind, s, s, s)
    missing = [n for n in ("min", "default", "max") if n not in values]
    if missing:
        raise where.error(
            key, f"missing {', '.join(missing)} (or give 'seconds' for a fixed pause)"
        )
    if not values["min"] <= values["default"] <= values["max"]:
        raise where.error(key, f"needs min <= default <= max, got {values}")
    return Pause(kind, values["min"], values["default"], values["max"])


def _clean_text(text: str, where: _Where, key: str) -> str:
    """Lines go to TTS engines as plain words: no markup, no control characters."""
    text = " ".join(text.split())
    if not text:
        raise where.error(key, "is empty; give the words to speak")
    if len(text) > MAX_LINE_CHARS:
        raise where.error(key, f"has {len(text)} characters; split it (at most {MAX_LINE_CHARS})")
    if MARKUP.search(text):
        raise where.error(
            key, f"contains markup ({MARKUP.search(text).group()!r}); use plain words"
        )
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs")]
    if bad:
        raise where.error(key, f"contains control character U+{ord(bad[0]):04X}; use plain text")
    return text


@dataclass(frozen=True)
class _Where:
    source: str

    def error(self, key: str, problem: str) -> TemplateError:
        return TemplateError(
            f"{self.source}: {key}: {problem}" if key else f"{self.source}: {problem}"
        )


def _check_keys(table: Mapping[str, Any], valid: tuple[str, ...], where: _Where, key: str) -> None:
    for name in table:
        if name not in valid:
            full = f"{key}.{name}" if key else name
            raise where.error(
                full, f"unknown key{did_you_mean(name, valid)}; valid keys: {', '.join(valid)}"
            )


def _table(doc: Mapping[str, Any], name: str, where: _Where, key: str, required: bool = True):
    value = doc.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise where.error(f"{key}.{name}" if key else name, f"needs a [{name}] table")
    return value


def _string(doc: Mapping[str, Any], name: str, where: _Where, key: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value.strip():
        raise where.error(f"{key}.{name}", "needs a non-empty string")
    return value
