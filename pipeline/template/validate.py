"""`pmr validate`: every problem of a template, each with its line."""

from __future__ import annotations

from pathlib import Path

from ..errors import TemplateError
from .expand import expand
from .load import resolve_routine
from .tomlfile import KeyProblem, locate, parse_toml, read_text


def problems(path: Path) -> list[str]:
    """Every problem of a template file, each as 'FILE:LINE: key: problem' (empty when valid)."""
    try:
        text = read_text(path, TemplateError)
        document = parse_toml(text, path, TemplateError, lined=True)
    except TemplateError as exc:
        return [str(exc)]
    found: list[KeyProblem] = []
    expand(document, source=str(path), problems=found)
    located = sorted(((locate(text, p.key), p) for p in found), key=lambda lp: lp[0])
    return [f"{path}:{line}: {p.key or 'file'}: {p.problem}" for line, p in located]


def validate(name_or_path: str) -> str:
    """A one-line summary when the template is valid; else a TemplateError listing everything."""
    path = resolve_routine(name_or_path)
    found = problems(path)
    if found:
        count = f"{len(found)} problem{'s' if len(found) > 1 else ''}"
        raise TemplateError(f"{path}: {count}\n" + "\n".join(f"  {p}" for p in found))
    return f"{path}: valid"
