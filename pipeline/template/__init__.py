"""Routine templates (TOML) -> Script: ordered lines, pauses with bounds, cues, sections.

`model` holds the Script dataclasses; `tomlfile` reads every TOML input of pmr and names
problems by key path and line; `expand` (with `steps` and `fitrules`) is the pure check and
expansion of a parsed template; `load` finds and reads routines; `validate` and `new` are the
`pmr validate` and `pmr new` commands' library side. The format is documented in the README
("Routine templates").
"""

from .expand import MAX_FADE_OUT_S, expand
from .load import builtin_routines, load_script, resolve_routine
from .model import ID_PATTERN, Cue, Line, Pause, Repeat, Script, Section, Step
from .new import new_routine
from .tomlfile import KeyProblem, TemplateProblem, Where, locate, read_toml
from .validate import problems, validate

__all__ = [
    "ID_PATTERN",
    "MAX_FADE_OUT_S",
    "Cue",
    "KeyProblem",
    "Line",
    "Pause",
    "Repeat",
    "Script",
    "Section",
    "Step",
    "TemplateProblem",
    "Where",
    "builtin_routines",
    "expand",
    "load_script",
    "locate",
    "new_routine",
    "problems",
    "read_toml",
    "resolve_routine",
    "validate",
]
