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


# Text scripts from other tools (script_import.py), by suffix: how each is read.
SCRIPT_SUFFIXES = {".txt": "text", ".text": "text", ".md": "md", ".markdown": "md", ".ssml": "ssml"}


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
        # script_import reads through narration's text splitter, whose package imports this
        # one: imported when a script is read, so there is no import cycle at module level.
        from .script_import import read_script

        return read_script(path, language).script
    return expand(read_toml(path, TemplateError), source=str(path))
