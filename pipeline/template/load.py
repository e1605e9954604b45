"""Finding routine templates (built-in names or paths) and loading them: the only effects here."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import TemplateError, did_you_mean
from .expand import expand
from .model import Script
from .tomlfile import read_toml


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
    return expand(read_toml(path, TemplateError), source=str(path))
