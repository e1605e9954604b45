"""`pmr new`: a starting copy of a routine under a new name."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ..errors import TemplateError
from ..files import write_atomic
from .expand import expand
from .load import resolve_routine
from .model import ID_PATTERN


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
    try:  # never replaces a file that appeared meanwhile
        return write_atomic(target, text, replace=False)
    except FileExistsError:
        raise TemplateError(f"{target} already exists; choose another name or remove it") from None
