"""A routine document -> TOML text laid out like the built-in routines (pure).

tomllib reads TOML but writes none; this writes the subset a routine uses: tables of scalars
and inline tables, `[[sections]]` with `steps` as one inline table per line. Strings are TOML
basic strings (JSON's escapes are a subset of TOML's; DEL is escaped too, which JSON leaves).
`tomllib.loads(dumps(doc)) == doc` for every document the importer makes (tested).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dumps(document: Mapping[str, Any], comment: str = "") -> str:
    """TOML text for `document`; `comment` (may be several lines) goes on top as # lines."""
    out = [f"# {line}".rstrip() for line in comment.splitlines()]
    tables = {k: v for k, v in document.items() if isinstance(v, Mapping) or _tables(v)}
    out += [f"{_key(k)} = {_value(v)}" for k, v in document.items() if k not in tables]
    for name, value in tables.items():
        if isinstance(value, Mapping):
            out += ["", f"[{_key(name)}]", *_pairs(value)]
        else:
            for table in value:
                out += ["", f"[[{_key(name)}]]", *_pairs(table)]
    return "\n".join(out).lstrip("\n") + "\n"


def _tables(value: Any) -> bool:
    """A non-empty list of tables: written as [[name]] at the top, inline lines inside one."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _pairs(table: Mapping[str, Any]) -> list[str]:
    lines = []
    for name, value in table.items():
        if _tables(value):
            lines += [f"{_key(name)} = [", *(f"  {_value(v)}," for v in value), "]"]
        else:
            lines.append(f"{_key(name)} = {_value(value)}")
    return lines


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML has no {value!r} here")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"can't write {type(value).__name__} as TOML")


def _key(name: str) -> str:
    return name if BARE_KEY.fullmatch(name) else _value(name)
