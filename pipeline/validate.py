"""`pmr validate` and `pmr new`: every problem of a template with its line, and a starting copy.

tomllib gives no positions, so `locate` maps a key path (`sections[3].steps[1].pause`) back to
a line by reading the TOML text: table headers, `key =` lines and the braces of inline tables.
It is a best effort that falls back to the enclosing table's header line.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path

from .errors import TemplateError
from .template import ID_PATTERN, SCRIPT_SUFFIXES, TemplateProblem, expand, resolve_routine

HEADER = re.compile(r"^[ \t]*(\[\[?)[ \t]*([A-Za-z0-9_.\- \t\"]+?)[ \t]*\]\]?", re.MULTILINE)
PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def problems(path: Path) -> list[str]:
    """Every problem of a template file, each as 'FILE:LINE: key: problem' (empty when valid)."""
    if path.suffix.lower() in SCRIPT_SUFFIXES:
        return _script_problems(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"]
    except OSError as exc:
        return [f"{path}: can't read it ({exc.strerror})"]
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        return [f"{path}:{line.group(1) if line else 1}: invalid TOML: {exc}"]
    found: list[TemplateProblem] = []
    expand(document, source=str(path), problems=found)
    located = sorted(((locate(text, p.key), p) for p in found), key=lambda lp: lp[0])
    return [f"{path}:{line}: {p.key or 'file'}: {p.problem}" for line, p in located]


def _script_problems(path: Path) -> list[str]:
    """A text script is checked as `pmr import` reads it (script_import.py)."""
    from .script_import import ScriptProblems, read_script

    try:
        read_script(path)
    except ScriptProblems as found:
        return list(found.lines)
    except TemplateError as exc:  # unreadable
        return [str(exc)]
    return []


def validate(name_or_path: str) -> str:
    """A one-line summary when the template is valid; else a TemplateError listing everything."""
    path = resolve_routine(name_or_path)
    found = problems(path)
    if found:
        count = f"{len(found)} problem{'s' if len(found) > 1 else ''}"
        raise TemplateError(f"{path}: {count}\n" + "\n".join(f"  {p}" for p in found))
    return f"{path}: valid"


def locate(text: str, key: str) -> int:
    """The 1-based line where `key` (a path like 'sections[2].steps[0].say') is written."""
    parts = [name or int(index) for name, index in PATH_PART.findall(key)]
    headers = []  # (offset, name, index among same-named array headers)
    counts: dict[str, int] = {}
    for match in HEADER.finditer(text):
        name = re.sub(r"[\s\"]", "", match.group(2))
        index = counts.get(name, 0) if match.group(1) == "[[" else None
        if match.group(1) == "[[":
            counts[name] = index + 1
        headers.append((match.start(), name, index))
    start, end, rest = 0, len(text), parts
    best = -1
    for position, (offset, name, index) in enumerate(headers):
        names = name.split(".")
        size = len(names) + (index is not None)
        if len(parts) < len(names) or parts[: len(names)] != names or size <= best:
            continue
        if index is not None and (len(parts) <= len(names) or parts[len(names)] != index):
            continue
        following = [h[0] for h in headers[position + 1 :]]
        start, end, rest, best = (
            offset,
            following[0] if following else len(text),
            parts[size:],
            size,
        )
    if best < 0:  # a top-level key: only the text before the first header
        end = headers[0][0] if headers else len(text)
    offset = _find(text, start, end, rest)
    return text.count("\n", 0, offset) + 1


def _find(text: str, start: int, end: int, parts: list[str | int]) -> int:
    """Offset of the deepest part of `parts` found inside text[start:end]."""
    for part in parts:
        if isinstance(part, str):
            match = re.compile(rf"(?m)(^|[{{,])[ \t]*\"?{re.escape(part)}\"?[ \t]*=").search(
                text, start, end
            )
            if not match:
                return start
            start = match.end()
        else:
            brace = _nth_item(text, start, end, part)
            if brace is None:
                return start
            start = brace
    return start


def _nth_item(text: str, start: int, end: int, n: int) -> int | None:
    """Offset of the n-th '{' directly inside the array that opens after `start`."""
    depth, seen, quote, i = 0, -1, "", text.find("[", start, end)
    if i < 0:
        return None
    while i < end:
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            i = text.find("\n", i, end)
            if i < 0:
                return None
        elif char in "[{":
            depth += 1
            if char == "{" and depth == 2:
                seen += 1
                if seen == n:
                    return i
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return None
        i += 1
    return None


def new_routine(name: str, source: str, folder: Path) -> Path:
    """Copy a routine (built-in or file) to FOLDER/NAME.toml with `name` set; never overwrite."""
    if not ID_PATTERN.match(name):
        raise TemplateError(
            f"name {name!r}: use lowercase letters, digits and '-', e.g. 'my-evening'"
        )
    if not folder.is_dir():
        raise TemplateError(f"{folder}: no such folder")
    target = folder / f"{name}.toml"
    if target.exists():
        raise TemplateError(f"{target} already exists; choose another name or remove it")
    text = resolve_routine(source).read_text(encoding="utf-8")
    text, count = re.subn(
        r'(?m)^(name[ \t]*=[ \t]*)"[^"\n]*"', lambda m: f'{m.group(1)}"{name}"', text, count=1
    )
    if not count:
        raise TemplateError(f"{source}: has no routine.name line to rename")
    expand(tomllib.loads(text), source=str(target))  # the copy must load as it is
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.link(tmp, target)  # fails rather than overwrite a file that appeared meanwhile
    except FileExistsError:
        raise TemplateError(f"{target} already exists; choose another name or remove it") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
