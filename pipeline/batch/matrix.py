"""A batch matrix (TOML or CLI lists) -> the variants to build: pure apart from reading the file.

The matrix is the cartesian product of four axes (routines x minutes x voices x backgrounds),
minus the `[[exclude]]` rules, with `[options]` for every variant and `[[override]]` rules that
change options of the variants they match. Every mistake names the file and the key, like
template errors do. The format is documented in the README ("Batches of variants").
"""

from __future__ import annotations

import dataclasses
import itertools
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..build import MAX_MINUTES, BuildOptions
from ..errors import BatchError, did_you_mean
from ..template.tomlfile import MatrixProblem, Where, read_toml
from .series import Series, parse_series

AXES = ("routines", "minutes", "voices", "backgrounds")
AXIS_KEY = {
    "routines": "routine",
    "minutes": "minutes",
    "voices": "voice",
    "backgrounds": "background",
}
TOP_KEYS = ("matrix", "output", "options", "exclude", "override", "series")
OUTPUT_KEYS = ("dir", "name")
DEFAULT_NAME = "{routine}-{minutes}min-{voice}-{background}.mp3"
DEFAULT_DIR = "output"
DEFAULT_AXES: Mapping[str, tuple[Any, ...]] = {
    "routines": ("full",),
    "minutes": (10.0,),
    "voices": ("piper-joe",),
    "backgrounds": ("pad",),
}
# BuildOptions fields a matrix sets itself; every other field is an option a matrix may set.
_OWN_FIELDS = ("routine", "minutes", "voice", "background", "out", "cache_dir")


def option_defaults() -> dict[str, Any]:
    """Options a matrix may set, with their defaults: every BuildOptions field it doesn't own
    whose value is a plain number, string or flag, so such options other stages add to
    BuildOptions are accepted here without a change (structured ones, like `episode`, not)."""
    return {
        f.name: f.default
        for f in dataclasses.fields(BuildOptions)
        if f.name not in _OWN_FIELDS and isinstance(f.default, bool | int | float | str)
    }


@dataclass(frozen=True)
class Override:
    match: tuple[tuple[str, tuple[Any, ...]], ...]  # (routine|minutes|voice|background, values)
    options: tuple[tuple[str, Any], ...]
    name: str | None = None
    key: str = "override"  # where it was given, for messages: override[2]


@dataclass(frozen=True)
class Matrix:
    """A validated matrix; paths are already resolved against the matrix file's folder."""

    routines: tuple[str, ...]
    minutes: tuple[float, ...]
    voices: tuple[str, ...]
    backgrounds: tuple[str, ...]
    out_dir: Path = Path(DEFAULT_DIR)
    name: str = DEFAULT_NAME
    options: tuple[tuple[str, Any], ...] = ()
    excludes: tuple[tuple[tuple[str, tuple[Any, ...]], ...], ...] = ()
    overrides: tuple[Override, ...] = ()
    source: str = "<command line>"
    series: Series | None = None  # feed and index page rewritten after a batch that built


@dataclass(frozen=True)
class Variant:
    """One output of a batch: the axis values, the options and where it goes."""

    routine: str
    minutes: float
    voice: str
    background: str
    options: tuple[tuple[str, Any], ...]
    out: Path

    @property
    def label(self) -> str:
        return self.out.name

    def build_options(self, cache_dir: Path | None) -> BuildOptions:
        return BuildOptions(
            routine=self.routine,
            minutes=self.minutes,
            voice=self.voice,
            background=self.background,
            out=self.out,
            cache_dir=cache_dir,
            **dict(self.options),
        )


def load_matrix(path: Path) -> Matrix:
    """Read and validate a matrix file."""
    document = read_toml(Path(path), BatchError, missing="no such matrix file")
    return parse_matrix(document, source=str(path), base=Path(path).parent)


def parse_matrix(document: Mapping[str, Any], source: str, base: Path) -> Matrix:
    """Validate a parsed matrix document; relative paths are taken from `base`."""
    where = Where(source, MatrixProblem)
    where.check_keys(document, TOP_KEYS, "")
    axes_doc = _table(where, document, "matrix")
    where.check_keys(axes_doc, AXES, "matrix")
    axes = {
        axis: _axis_values(axis, axes_doc[axis], where, f"matrix.{axis}", base)
        if axis in axes_doc
        else DEFAULT_AXES[axis]
        for axis in AXES
    }
    output = _table(where, document, "output")
    where.check_keys(output, OUTPUT_KEYS, "output")
    if not isinstance(output.get("dir", DEFAULT_DIR), str):
        raise where.error("output.dir", "must be a folder path (a string)")
    out_dir = Path(output.get("dir", DEFAULT_DIR))
    name = output.get("name", DEFAULT_NAME)
    _check_name(name, where, "output.name")
    options = _options(_table(where, document, "options"), where, "options")
    excludes = tuple(
        _match(rule, where, f"exclude[{i}]", base)
        for i, rule in enumerate(_tables(where, document, "exclude"))
    )
    overrides = []
    for i, rule in enumerate(_tables(where, document, "override")):
        key = f"override[{i}]"
        rule = dict(rule)
        match = _match(_table(where, rule, "match", key), where, f"{key}.match", base)
        rule.pop("match", None)
        rule_name = rule.pop("name", None)
        if rule_name is not None:
            _check_name(rule_name, where, f"{key}.name")
        overrides.append(Override(match, _options(rule, where, key), rule_name, key))
    return Matrix(
        routines=axes["routines"],
        minutes=axes["minutes"],
        voices=axes["voices"],
        backgrounds=axes["backgrounds"],
        out_dir=out_dir if out_dir.is_absolute() else base / out_dir,
        name=name,
        options=options,
        excludes=excludes,
        overrides=tuple(overrides),
        source=source,
        series=parse_series(_table(where, document, "series"), source, base)
        if "series" in document
        else None,
    )


def with_lists(
    matrix: Matrix | None,
    *,
    routines: str | None = None,
    minutes: str | None = None,
    voices: str | None = None,
    backgrounds: str | None = None,
    out_dir: Path | None = None,
    name: str | None = None,
) -> Matrix:
    """The matrix with axes replaced by comma-separated CLI lists (`--minutes 10,20`)."""
    base = matrix or Matrix(**{a: tuple(DEFAULT_AXES[a]) for a in AXES})
    where = Where("command line", MatrixProblem)
    given = {"routines": routines, "minutes": minutes, "voices": voices, "backgrounds": backgrounds}
    changes: dict[str, Any] = {}
    for axis, text in given.items():
        if text is None:
            continue
        items: list[Any] = [t.strip() for t in text.split(",")]
        if axis == "minutes":
            try:
                items = [float(t) for t in items]
            except ValueError:
                raise where.error(
                    "--minutes", f"{text!r}: give numbers separated by commas, e.g. 5,10,20"
                ) from None
        changes[axis] = _axis_values(axis, items, where, f"--{axis}", Path.cwd())
    if out_dir is not None:
        changes["out_dir"] = out_dir
    if name is not None:
        _check_name(name, where, "--name")
        changes["name"] = name
    return dataclasses.replace(base, **changes)


def expand(matrix: Matrix) -> tuple[Variant, ...]:
    """The cartesian product minus excludes, with options and overrides applied, in a stable
    order. Raises if two variants would write the same file."""
    variants: list[Variant] = []
    owners: dict[Path, Mapping[str, Any]] = {}
    for routine, minutes, voice, background in itertools.product(
        matrix.routines, matrix.minutes, matrix.voices, matrix.backgrounds
    ):
        axes = {"routine": routine, "minutes": minutes, "voice": voice, "background": background}
        if any(_matches(rule, axes) for rule in matrix.excludes):
            continue
        options, name, name_key = dict(matrix.options), matrix.name, "output.name"
        for rule in matrix.overrides:
            if _matches(rule.match, axes):
                options.update(rule.options)
                if rule.name:
                    name, name_key = rule.name, f"{rule.key}.name"
        out = matrix.out_dir / _format_name(name, axes, options)
        if out in owners:
            raise BatchError(
                f"{matrix.source}: {name_key}: {name!r} gives {out.name} for two variants "
                f"({_describe(owners[out])} and {_describe(axes)}); add the placeholder that "
                "tells them apart, e.g. {background} or {voice}"
            )
        owners[out] = axes
        variants.append(
            Variant(routine, float(minutes), voice, background, tuple(sorted(options.items())), out)
        )
    if not variants:
        raise BatchError(f"{matrix.source}: exclude: every variant is excluded; nothing to build")
    return tuple(variants)


def _axis_values(axis: str, values: Any, where: Where, key: str, base: Path) -> tuple[Any, ...]:
    if not isinstance(values, list) or not values:
        raise where.error(key, "must be a non-empty list, e.g. [10, 20]")
    checked = tuple(_axis_value(axis, v, where, f"{key}[{i}]", base) for i, v in enumerate(values))
    duplicates = sorted({str(v) for v in checked if checked.count(v) > 1})
    if duplicates:
        raise where.error(key, f"lists {', '.join(duplicates)} twice")
    return checked


def _axis_value(axis: str, value: Any, where: Where, key: str, base: Path) -> Any:
    if axis == "minutes":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise where.error(key, f"{value!r} must be a number of minutes")
        if not (value == value and 0 < value <= MAX_MINUTES):  # NaN != NaN
            raise where.error(key, f"{value!r} must be above 0 and at most {MAX_MINUTES:g} minutes")
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise where.error(key, f"{value!r} must be a non-empty string")
    if axis in ("routines", "backgrounds") and _looks_like_path(value):
        path = Path(value) if Path(value).is_absolute() else base / value
        if not path.is_file():
            raise where.error(key, f"{value!r}: no such file ({path})")
        return str(path)
    return _check_name_exists(axis, value, where, key)


def _looks_like_path(value: str) -> bool:
    return "/" in value or "." in Path(value).name


def _check_name_exists(axis: str, value: str, where: Where, key: str) -> str:
    """Built-in names are checked now, so a typo fails before any work (exit 2)."""
    if axis == "routines":
        from ..template import builtin_routines

        valid = builtin_routines()
    elif axis == "voices":
        from ..narration import available_voices

        valid = sorted(available_voices())
    else:
        from ..render import BACKGROUNDS

        valid = list(BACKGROUNDS)
    if value not in valid:
        raise where.error(
            key, f"unknown {AXIS_KEY[axis]} {value!r}{did_you_mean(value, valid)}; "
            f"valid: {', '.join(valid)}" + (" (or a path to a file)" if axis != "voices" else "")
        )  # fmt: skip
    return value


def _options(table: Mapping[str, Any], where: Where, key: str) -> tuple[tuple[str, Any], ...]:
    defaults = option_defaults()
    checked = {}
    for name, value in table.items():
        full = f"{key}.{name}"
        if name not in defaults:
            hint = did_you_mean(name, defaults)
            if name in AXIS_KEY.values():
                hint = f" ({name} is an axis: set it in [matrix] or `match` it)"
            raise where.error(
                full, f"unknown option{hint}; valid options: {', '.join(sorted(defaults))}"
            )
        checked[name] = _typed(value, defaults[name], where, full)
    return tuple(sorted(checked.items()))


def _typed(value: Any, default: Any, where: Where, key: str) -> Any:
    """A value of the option's type (an int is fine where a float is expected)."""
    kind = type(default)
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise where.error(key, f"{value!r} must be a {kind.__name__} like {default!r}")


def _match(rule: Any, where: Where, key: str, base: Path) -> tuple[tuple[str, tuple], ...]:
    if not isinstance(rule, dict) or not rule:
        raise where.error(key, "must be a table like { routine = 'full', minutes = 20 }")
    singular = {v: k for k, v in AXIS_KEY.items()}
    where.check_keys(rule, tuple(singular), key)
    checked = []
    for name, value in rule.items():
        values = value if isinstance(value, list) else [value]
        axis = singular[name]
        checked.append(
            (name, tuple(_axis_value(axis, v, where, f"{key}.{name}", base) for v in values))
        )
    return tuple(sorted(checked))


def _matches(rule: tuple[tuple[str, tuple], ...], axes: Mapping[str, Any]) -> bool:
    return all(axes[name] in values for name, values in rule)


def _placeholders() -> tuple[str, ...]:
    return (*AXIS_KEY.values(), *option_defaults())


def _check_name(name: Any, where: Where, key: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise where.error(key, f"must be a file name pattern like {DEFAULT_NAME!r}")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(name) if f is not None]
    except ValueError as exc:
        raise where.error(key, f"{name!r}: {exc}; write literal braces as {{{{ and }}}}") from None
    for field in fields:
        if field not in _placeholders():
            raise where.error(
                key, f"unknown placeholder {{{field}}}{did_you_mean(field, _placeholders())}; "
                f"valid: {', '.join('{' + p + '}' for p in _placeholders())}"
            )  # fmt: skip
    if "/" in name or not name.endswith(".mp3"):
        raise where.error(key, f"{name!r} must be a file name (no '/') ending in .mp3")


def _format_name(name: str, axes: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    values = {**option_defaults(), **options, **axes}
    values["minutes"] = f"{axes['minutes']:g}"
    for key in ("routine", "background"):
        if _looks_like_path(str(axes[key])):
            values[key] = Path(axes[key]).stem
    return name.format(**values)


def _describe(axes: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v if k != 'minutes' else format(v, 'g')}" for k, v in axes.items())


def _table(where: Where, doc: Mapping[str, Any], name: str, key: str = "") -> Mapping[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise where.error(f"{key}.{name}" if key else name, f"must be a [{name}] table")
    return value


def _tables(where: Where, doc: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = doc.get(name, [])
    if not isinstance(value, list):
        raise where.error(name, f"must be a list of [[{name}]] tables")
    return value
