"""The steps of a section: spoken lines, pauses and cues, each checked where it is written."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ..errors import did_you_mean
from ..tuning import CUE_NAMES, MAX_LINE_CHARS
from .model import Cue, Line, Pause, Step
from .tomlfile import Where

STEP_KEYS = ("id", "say", "pause", "cue")
PAUSE_KEYS = ("seconds", "min", "default", "max", "weight")
MARKUP = re.compile(r"<[^>]*>|&[a-zA-Z#0-9]+;")


def parse_steps(
    raw_steps: list[Any],
    key: str,
    section_id: str,
    variant: int,
    fill: dict[str, str],
    pauses: dict[str, Pause],
    where: Where,
) -> list[Step]:
    steps: list[Step] = []
    line_number = 0
    for index, raw in enumerate(raw_steps):
        step_key = f"{key}[{index}]"
        if isinstance(raw, dict) and "say" in raw:
            line_number += 1  # counted even when the step is invalid: ids stay put
        with where.item():
            line_id = f"{section_id}.{line_number}"
            steps.append(_step(raw, step_key, line_id, variant, fill, pauses, where))
    return steps


def _step(
    raw: Any,
    step_key: str,
    line_id: str,
    variant: int,
    fill: dict[str, str],
    pauses: dict[str, Pause],
    where: Where,
) -> Step:
    """One step of a section or of the cycle; `line_id` is used unless the step names its own."""
    if not isinstance(raw, dict):
        raise where.error(step_key, 'must be a table like { say = "..." }')
    where.check_keys(raw, STEP_KEYS, step_key)
    kinds = [k for k in ("say", "pause", "cue") if k in raw]
    if len(kinds) != 1:
        raise where.error(step_key, "needs exactly one of 'say', 'pause' or 'cue'")
    if "say" in raw:
        return _line(raw, step_key, line_id, variant, fill, where)
    if "pause" in raw:
        return _pause_step(raw["pause"], pauses, where, f"{step_key}.pause")
    if raw["cue"] not in CUE_NAMES:
        raise where.error(
            f"{step_key}.cue", f"unknown cue {raw['cue']!r}; valid: {', '.join(CUE_NAMES)}"
        )
    return Cue(raw["cue"])


def _line(
    raw: dict[str, Any],
    step_key: str,
    line_id: str,
    variant: int,
    fill: dict[str, str],
    where: Where,
) -> Line:
    """A `say` step: the cycle's text variant for this muscle group, placeholders filled."""
    text = raw["say"]
    if isinstance(text, list) and text and all(isinstance(t, str) for t in text):
        text = text[variant % len(text)]
    if not isinstance(text, str):
        raise where.error(f"{step_key}.say", "must be a string or a list of strings")
    for placeholder, value in fill.items():
        text = text.replace(placeholder, value)
    if "id" in raw:
        if not isinstance(raw["id"], str | int) or isinstance(raw["id"], bool):
            raise where.error(f"{step_key}.id", "must be a name like 'hello'")
        line_id = f"{line_id.rsplit('.', 1)[0]}.{raw['id']}"
    return Line(line_id, _clean_text(text, where, f"{step_key}.say"))


def _pause_step(value: Any, pauses: dict[str, Pause], where: Where, key: str) -> Pause:
    if isinstance(value, bool):
        raise where.error(key, "must be a pause name or a number of seconds")
    if isinstance(value, int | float):
        return parse_pause("inline", {"seconds": value}, where, key)
    if isinstance(value, str) and value in pauses:
        return pauses[value]
    valid = ", ".join(sorted(pauses)) or "none defined in [pauses]"
    raise where.error(
        key, f"unknown pause {value!r}{did_you_mean(str(value), pauses)}; valid: {valid}"
    )


def parse_pause(kind: str, spec: Any, where: Where, key: str | None = None) -> Pause:
    key = key or f"pauses.{kind}"
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        spec = {"seconds": spec}
    if not isinstance(spec, dict):
        raise where.error(
            key, "must be { seconds = N } or { min = A, default = B, max = C, weight = W }"
        )
    where.check_keys(spec, PAUSE_KEYS, key)
    values = {}
    for name, value in spec.items():
        if name not in PAUSE_KEYS:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
            raise where.error(f"{key}.{name}", f"{value!r} must be a number of seconds, 0 to 3600")
        values[name] = float(value)
    weight = values.pop("weight", 1.0)
    if not 0.01 <= weight <= 100:
        raise where.error(f"{key}.weight", f"{weight:g} must be a number from 0.01 to 100")
    if "seconds" in values:
        if len(values) > 1 or "weight" in spec:
            raise where.error(key, "give either 'seconds' (fixed) or min/default/max (elastic)")
        s = values["seconds"]
        return Pause(kind, s, s, s)
    missing = [n for n in ("min", "default", "max") if n not in values]
    if missing:
        raise where.error(
            key, f"missing {', '.join(missing)} (or give 'seconds' for a fixed pause)"
        )
    if not values["min"] <= values["default"] <= values["max"]:
        raise where.error(key, f"needs min <= default <= max, got {values}")
    return Pause(kind, values["min"], values["default"], values["max"], weight)


def _clean_text(text: str, where: Where, key: str) -> str:
    """Lines go to TTS engines as plain words: no markup, no control characters."""
    text = " ".join(text.split())
    if not text:
        raise where.error(key, "is empty; give the words to speak")
    if len(text) > MAX_LINE_CHARS:
        raise where.error(key, f"has {len(text)} characters; split it (at most {MAX_LINE_CHARS})")
    if MARKUP.search(text):
        raise where.error(
            key, f"contains markup ({MARKUP.search(text).group()!r}); use plain words"
        )
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs")]
    if bad:
        raise where.error(key, f"contains control character U+{ord(bad[0]):04X}; use plain text")
    return text
