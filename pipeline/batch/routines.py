"""What a batch matrix needs to know of each variant's routine: its own background (for a
matrix that names none) and its muscle groups (for skip and gentle). Read when asked, never
cached: a routine edited between two runs in one process is read anew."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..build import DEFAULT_BACKGROUND
from ..errors import BatchError, PmrError

BODY_OPTIONS = {"skip": (), "gentle": (), "dominant": "left"}  # Body's fields, in order


def check_variant_body(source: str, key: str, routine: str, options: Mapping[str, Any]) -> None:
    """--skip/--gentle/--dominant of a variant name groups its routine has (exit 2, now)."""
    if not set(options) & set(BODY_OPTIONS):
        return
    from ..template.body import Body, check_body

    body = Body(*(options.get(k, d) for k, d in BODY_OPTIONS.items()))
    try:
        check_body(_script(routine), body, key=f"{key}.{{option}} =")
    except PmrError as exc:
        raise BatchError(f"{source}: {exc}") from None


def _script(routine: str) -> Any:
    from ..template import load_script

    return load_script(routine)


def routine_background(routine: str) -> str:
    """The background axis left out: each routine's own bed (`[routine] background`)."""
    return _script(routine).background or DEFAULT_BACKGROUND


def names_option(value: Any, where: Any, key: str) -> tuple[str, ...]:
    """A tuple option (skip, gentle) of a matrix: one name or a list of names."""
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list) and all(isinstance(v, str) and v for v in items):
        return tuple(items)
    raise where.error(key, f"{value!r} must be a name or a list of names, like ['neck']")
