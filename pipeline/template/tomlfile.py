"""Reading TOML input files and naming the key path of every problem in them.

One place for what every TOML input of pmr (routine templates, batch matrices, voice profiles,
recorded packs) needs: `read_toml` reads and parses a file and turns every failure into the
caller's PmrError naming the file; `Where` raises (or, for `pmr validate`, collects) problems
named by key path (`sections[3].steps[1].pause`); `locate` maps such a path back to its line,
because tomllib gives no positions.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BatchError, PmrError, TemplateError, did_you_mean

HEADER = re.compile(r"^[ \t]*(\[\[?)[ \t]*([A-Za-z0-9_.\- \t\"]+?)[ \t]*\]\]?", re.MULTILINE)
PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
TOML_LINE = re.compile(r"at line (\d+)")


def read_text(path: Path, error: type[PmrError], missing: str | None = None) -> str:
    """The file's text as UTF-8; `missing` (if given) is the problem told for a missing file."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        if missing is None:
            raise error(f"{path}: can't read it (No such file or directory)") from None
        raise error(f"{path}: {missing}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise error(f"{path}: can't read it ({exc.strerror})") from None


def parse_toml(text: str, path: Path, error: type[PmrError], lined: bool = False) -> dict:
    """The parsed document; with `lined` the message starts 'FILE:LINE:' like `pmr validate`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        if not lined:
            raise error(f"{path}: invalid TOML: {exc}") from None
        line = TOML_LINE.search(str(exc))
        raise error(f"{path}:{line.group(1) if line else 1}: invalid TOML: {exc}") from None


def read_toml(
    path: Path, error: type[PmrError], missing: str | None = None, lead: str | None = None
) -> dict:
    """Read and parse a TOML file; every failure is one `error` naming the file.

    With `lead` (e.g. "can't read voice profile") every failure reads 'FILE: LEAD: reason'.
    """
    if lead is None:
        return parse_toml(read_text(path, error, missing), path, error)
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        if missing is not None:
            raise error(f"{path}: {missing}") from None
        raise error(f"{path}: {lead}: {exc}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise error(f"{path}: {lead}: {exc}") from None


class KeyProblem(PmrError):
    """A problem that also knows its file, key path and bare text (for line lookup)."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")
        self.source, self.key, self.problem = source, key, problem


class TemplateProblem(KeyProblem, TemplateError):
    """A problem of a routine template."""


class MatrixProblem(KeyProblem, BatchError):
    """A problem of a batch matrix."""


@dataclass(frozen=True)
class Where:
    """Names the file in every error; with `problems`, collects them instead of raising."""

    source: str
    kind: type[KeyProblem] = TemplateProblem
    problems: list[KeyProblem] | None = field(default=None)

    def error(self, key: str, problem: str) -> KeyProblem:
        return self.kind(self.source, key, problem)

    @contextlib.contextmanager
    def item(self) -> Iterator[None]:
        """Run one independent check: in collecting mode a problem is kept and work goes on."""
        if self.problems is None:
            yield
            return
        try:
            yield
        except KeyProblem as problem:
            if all(str(p) != str(problem) for p in self.problems):
                self.problems.append(problem)

    def check_keys(self, table: Mapping[str, Any], valid: Sequence[str], key: str) -> None:
        """Every key of `table` must be one of `valid` (each unknown one is its own problem)."""
        for name in table:
            if name not in valid:
                full = f"{key}.{name}" if key else name
                with self.item():
                    raise self.error(
                        full,
                        f"unknown key{did_you_mean(name, valid)}; valid keys: {', '.join(valid)}",
                    )

    def string(self, doc: Mapping[str, Any], name: str, key: str) -> str:
        value = doc.get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{key}.{name}", "needs a non-empty string")
        return value


def locate(text: str, key: str) -> int:
    """The 1-based line where `key` (a path like 'sections[2].steps[0].say') is written.

    It reads table headers, `key =` lines and the braces of inline tables: a best effort that
    falls back to the enclosing table's header line.
    """
    parts = [name or int(index) for name, index in PATH_PART.findall(key)]
    headers = _headers(text)
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


def _headers(text: str) -> list[tuple[int, str, int | None]]:
    """(offset, name, index among same-named array headers) of every table header."""
    headers = []
    counts: dict[str, int] = {}
    for match in HEADER.finditer(text):
        name = re.sub(r"[\s\"]", "", match.group(2))
        index = counts.get(name, 0) if match.group(1) == "[[" else None
        if index is not None:
            counts[name] = index + 1
        headers.append((match.start(), name, index))
    return headers


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
