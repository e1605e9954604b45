"""Routine templates (TOML) -> Script: ordered lines, pauses with bounds, cues, sections.

Loading is the only effect here; `expand` is a pure function of the parsed document.
The format is documented in the README ("Routine templates").
"""

from __future__ import annotations

import contextlib
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
    weight: float = 1.0  # how fast it stretches or shrinks against the other elastic pauses

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
class Repeat:
    """Sections `first`..`last` (indices, inclusive) may run up to `times` times in a row for
    long sessions; `lead` (a section of plain steps, or None) opens every extra run."""

    id: str
    first: int
    last: int
    times: int
    lead: Section | None = None


@dataclass(frozen=True)
class Script:
    """An expanded routine: everything the narrator and the fitter need, nothing about audio.

    `drop` names the optional sections in the order the fitter leaves them out for short
    sessions; `repeats` the runs it may add for long ones (see fit.py).
    """

    name: str
    title: str
    language: str
    description: str
    sections: tuple[Section, ...]
    drop: tuple[str, ...] = ()
    repeats: tuple[Repeat, ...] = ()
    fade_out_s: float | None = None  # the routine's own final fade (sleep: long), else default
    minutes: float | str | None = None  # `[routine] minutes`: a default length, or "natural"

    def lines(self) -> Iterator[Line]:
        leads = tuple(r.lead for r in self.repeats if r.lead is not None)
        for section in self.sections + leads:
            for step in section.steps:
                if isinstance(step, Line):
                    yield step


ROUTINE_KEYS = ("name", "title", "language", "description", "fade_out", "minutes")
MAX_FADE_OUT_S = 600.0
TOP_KEYS = ("routine", "pauses", "cycle", "sections", "fit")
FIT_KEYS = ("drop", "repeat")
REPEAT_KEYS = ("id", "title", "from", "to", "times", "steps")
MAX_REPEAT_TIMES = 20
SECTION_KEYS = ("id", "title", "steps", "tense", "release")
STEP_KEYS = ("id", "say", "pause", "cue")
PAUSE_KEYS = ("seconds", "min", "default", "max", "weight")
# Text scripts from other tools (script_import.py) and how each suffix is read.
SCRIPT_SUFFIXES = {".txt": "text", ".text": "text", ".md": "md", ".markdown": "md", ".ssml": "ssml"}
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MARKUP = re.compile(r"<[^>]*>|&[a-zA-Z#0-9]+;")


def builtin_routines() -> list[str]:
    """Names of the routines shipped with pmr."""
    folder = resources.files("pipeline") / "routines"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def resolve_routine(name_or_path: str) -> Path:
    """A built-in routine name, or a path to a user's TOML file or text script."""
    suffix = Path(name_or_path).suffix.lower()
    if name_or_path.endswith(".toml") or "/" in name_or_path or suffix in SCRIPT_SUFFIXES:
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


def load_script(name_or_path: str, language: str = "en") -> Script:
    """Read, validate and expand a routine template, or import a text script (in `language`)."""
    path = resolve_routine(name_or_path)
    if path.suffix.lower() in SCRIPT_SUFFIXES:
        from .script_import import read_script  # it builds on expand: imported when used

        return read_script(path, language).script
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


def expand(
    document: Mapping[str, Any],
    source: str = "<template>",
    problems: list[TemplateProblem] | None = None,
) -> Script:
    """Turn a parsed template into a Script: pure, so tests need no files.

    With `problems` (a list), every problem found is appended there instead of raising the
    first one, and the returned Script is only as good as the template (for `pmr validate`).
    """
    where = _Where(source, problems)
    _check_keys(document, TOP_KEYS, where, "")
    routine: Mapping[str, Any] = {}
    with where.item():
        routine = _table(document, "routine", where, "")
    _check_keys(routine, ROUTINE_KEYS, where, "routine")
    name = "routine"
    with where.item():
        name = _string(routine, "name", where, "routine")
        if not ID_PATTERN.match(name):
            raise where.error("routine.name", f"{name!r} must be lowercase letters, digits and '-'")
    pauses: dict[str, Pause] = {}
    pauses_doc: Mapping[str, Any] = {}
    with where.item():
        pauses_doc = _table(document, "pauses", where, "", required=False)
    for kind, spec in pauses_doc.items():
        pauses[kind] = Pause(kind, 0.0, 0.0, 0.0)  # stands in if the spec is invalid
        with where.item():
            pauses[kind] = _pause(kind, spec, where)
    cycle: list[Any] = []
    with where.item():
        cycle_doc = _table(document, "cycle", where, "", required=False)
        _check_keys(cycle_doc, ("steps",), where, "cycle")
        cycle = cycle_doc.get("steps", [])
        if not isinstance(cycle, list):
            cycle = []
            raise where.error("cycle.steps", "must be a list of steps")
    sections_doc = document.get("sections")
    if not isinstance(sections_doc, list) or not sections_doc:
        sections_doc = []
        with where.item():
            raise where.error("sections", "needs at least one [[sections]] table")

    sections: list[Section] = []
    seen_ids: set[str] = set()
    groups = 0  # muscle-group sections so far: cycle text variants rotate over them
    for index, section_doc in enumerate(sections_doc):
        key = f"sections[{index}]"
        with where.item():
            if not isinstance(section_doc, dict):
                raise where.error(key, "must be a table")
            _check_keys(section_doc, SECTION_KEYS, where, key)
            section_id = _string(section_doc, "id", where, key)
            if not ID_PATTERN.match(section_id):
                raise where.error(
                    f"{key}.id", f"{section_id!r} must be lowercase letters, digits, '-'"
                )
            if section_id in seen_ids:
                raise where.error(f"{key}.id", f"{section_id!r} is used by an earlier section")
            seen_ids.add(section_id)
            is_group = "tense" in section_doc or "release" in section_doc
            if is_group:
                groups += 1
            title = _string(section_doc, "title", where, key)
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
            else:
                fill = {}
                raw_steps, steps_key = section_doc.get("steps"), f"{key}.steps"
                if not isinstance(raw_steps, list) or not raw_steps:
                    raise where.error(key, "needs 'steps' (a list) or 'tense' and 'release'")
            steps = tuple(_steps(raw_steps, steps_key, section_id, groups - 1, fill, pauses, where))
            sections.append(Section(section_id, title, steps))

    drop, repeats = (), ()
    with where.item():
        fit_doc = _table(document, "fit", where, "", required=False)
        _check_keys(fit_doc, FIT_KEYS, where, "fit")
        drop = _drop_order(fit_doc.get("drop", []), sections, where)
        repeats = _repeats(fit_doc.get("repeat", []), sections, pauses, where)
    leads = [r.lead for r in repeats if r.lead is not None]
    line_ids = [line.id for s in [*sections, *leads] for line in s.steps if isinstance(line, Line)]
    with where.item():
        duplicates = sorted({i for i in line_ids if line_ids.count(i) > 1})
        if duplicates:
            raise where.error("sections", f"line ids used twice: {', '.join(duplicates)}")
    if sections and not line_ids:
        with where.item():
            raise where.error("sections", "the routine has no line to speak ('say' steps)")
    fade_out = routine.get("fade_out")
    with where.item():
        if fade_out is not None and (
            isinstance(fade_out, bool)
            or not isinstance(fade_out, int | float)
            or not 0.5 <= fade_out <= MAX_FADE_OUT_S
        ):
            fade_out = None
            raise where.error(
                "routine.fade_out", f"must be a number of seconds, 0.5 to {MAX_FADE_OUT_S:g}"
            )
    minutes = None
    with where.item():
        minutes = _minutes(routine.get("minutes"), where)
    title = language = ""
    with where.item():
        title = _string(routine, "title", where, "routine")
    with where.item():
        language = _string(routine, "language", where, "routine")
    return Script(
        name=name,
        title=title,
        language=language,
        description=str(routine.get("description", "")),
        sections=tuple(sections),
        drop=drop,
        repeats=repeats,
        fade_out_s=None if fade_out is None else float(fade_out),
        minutes=minutes,
    )


def _minutes(value: Any, where: _Where) -> float | str | None:
    """`[routine] minutes`: the length a build makes when --minutes is not given."""
    if value is None or value == "natural":
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
        raise where.error(
            "routine.minutes",
            f'{value!r}: give a number of minutes (above 0, at most 600) or "natural"',
        )
    return float(value)


def _drop_order(value: Any, sections: list[Section], where: _Where) -> tuple[str, ...]:
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


def _repeats(
    value: Any, sections: list[Section], pauses: dict[str, Pause], where: _Where
) -> tuple[Repeat, ...]:
    """`[[fit.repeat]]`: spans of sections that may run again, in the order runs are added."""
    if not isinstance(value, list):
        raise where.error("fit.repeat", "must be [[fit.repeat]] tables")
    ids = [s.id for s in sections]
    repeats: list[Repeat] = []
    taken: set[int] = set()
    for index, doc in enumerate(value):
        key = f"fit.repeat[{index}]"
        with where.item():
            if not isinstance(doc, dict):
                raise where.error(key, "must be a table")
            _check_keys(doc, REPEAT_KEYS, where, key)
            repeat_id = _string(doc, "id", where, key)
            if not ID_PATTERN.match(repeat_id) or repeat_id in ids:
                raise where.error(
                    f"{key}.id",
                    f"{repeat_id!r} must be lowercase letters, digits, '-' and not a section id",
                )
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
                title = _string(doc, "title", where, key)
                steps = tuple(_steps(raw, f"{key}.steps", repeat_id, 0, {}, pauses, where))
                lead = Section(repeat_id, title, steps)
            repeats.append(Repeat(repeat_id, first, last, times, lead))
    return tuple(repeats)


def _steps(
    raw_steps: list[Any],
    key: str,
    section_id: str,
    variant: int,
    fill: dict[str, str],
    pauses: dict[str, Pause],
    where: _Where,
) -> list[Step]:
    steps: list[Step] = []
    line_number = 0
    for index, raw in enumerate(raw_steps):
        step_key = f"{key}[{index}]"
        if isinstance(raw, dict) and "say" in raw:
            line_number += 1  # counted even when the step is invalid: ids stay put
        with where.item():
            line_id = f"{section_id}.{line_number}"
            steps.append(_step(raw, step_key, line_id, variant, fill, pauses, where))
    return steps


def _step(
    raw: Any,
    step_key: str,
    line_id: str,
    variant: int,
    fill: dict[str, str],
    pauses: dict[str, Pause],
    where: _Where,
) -> Step:
    """One step of a section or of the cycle; `line_id` is used unless the step names its own."""
    if not isinstance(raw, dict):
        raise where.error(step_key, 'must be a table like { say = "..." }')
    _check_keys(raw, STEP_KEYS, where, step_key)
    kinds = [k for k in ("say", "pause", "cue") if k in raw]
    if len(kinds) != 1:
        raise where.error(step_key, "needs exactly one of 'say', 'pause' or 'cue'")
    if "say" in raw:
        text = raw["say"]
        if isinstance(text, list) and text and all(isinstance(t, str) for t in text):
            text = text[variant % len(text)]
        if not isinstance(text, str):
            raise where.error(f"{step_key}.say", "must be a string or a list of strings")
        for placeholder, value in fill.items():
            text = text.replace(placeholder, value)
        if "id" in raw:
            if not isinstance(raw["id"], str | int) or isinstance(raw["id"], bool):
                raise where.error(f"{step_key}.id", "must be a name like 'hello'")
            line_id = f"{line_id.rsplit('.', 1)[0]}.{raw['id']}"
        return Line(line_id, _clean_text(text, where, f"{step_key}.say"))
    if "pause" in raw:
        return _pause_step(raw["pause"], pauses, where, f"{step_key}.pause")
    if raw["cue"] not in CUE_NAMES:
        raise where.error(
            f"{step_key}.cue", f"unknown cue {raw['cue']!r}; valid: {', '.join(CUE_NAMES)}"
        )
    return Cue(raw["cue"])


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
        raise where.error(
            key, "must be { seconds = N } or { min = A, default = B, max = C, weight = W }"
        )
    _check_keys(spec, PAUSE_KEYS, where, key)
    values = {}
    for name, value in spec.items():
        if name not in PAUSE_KEYS:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
            raise where.error(f"{key}.{name}", f"{value!r} must be a number of seconds, 0 to 3600")
        values[name] = float(value)
    weight = values.pop("weight", 1.0)
    if not 0.01 <= weight <= 100:
        raise where.error(f"{key}.weight", f"{weight:g} must be a number from 0.01 to 100")
    if "seconds" in values:
        if len(values) > 1 or "weight" in spec:
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
    return Pause(kind, values["min"], values["default"], values["max"], weight)


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


class TemplateProblem(TemplateError):
    """A TemplateError that also knows its file, key path and bare problem (for line lookup)."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")
        self.source, self.key, self.problem = source, key, problem


@dataclass(frozen=True)
class _Where:
    """Names the file in every error; with `problems`, collects them instead of raising."""

    source: str
    problems: list[TemplateProblem] | None = field(default=None)

    def error(self, key: str, problem: str) -> TemplateProblem:
        return TemplateProblem(self.source, key, problem)

    @contextlib.contextmanager
    def item(self) -> Iterator[None]:
        """Run one independent check: in collecting mode a problem is kept and work goes on."""
        if self.problems is None:
            yield
            return
        try:
            yield
        except TemplateProblem as problem:
            if all(str(p) != str(problem) for p in self.problems):
                self.problems.append(problem)


def _check_keys(table: Mapping[str, Any], valid: tuple[str, ...], where: _Where, key: str) -> None:
    for name in table:
        if name not in valid:
            full = f"{key}.{name}" if key else name
            with where.item():
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
