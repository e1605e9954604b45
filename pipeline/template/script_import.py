"""Text scripts (.txt, .md, .ssml) -> a routine document, the same one `pmr import` writes.

Pure core: `parse_script(text, source, kind)` turns the events of `script_markup.scan` into the
document a routine TOML holds (what tomllib would give back), checks it with the template's own
`expand`, and names FILE:LINE for every problem. `read_script` is the only effect (reading).

How a script becomes a routine (the README's "Bringing your own script" says the same):
- Words between two markers are one spoken line; lines of a paragraph are joined (wrapped text
  reads as one), and a line over the template's limit is split at sentence ends.
- Every written pause is a fixed pause of exactly its seconds; the markers without a length get
  the defaults of `tuning.SCRIPT_PAUSE_S` as named pauses in [pauses] (edit them there). A blank
  line between two spoken lines, with no marker between them, is a paragraph pause. A zero pause
  separates two lines with no silence.
- With `stretch`, each pause is elastic from its written value up to SCRIPT_STRETCH times it,
  with a weight equal to its seconds (so all of them stretch in proportion).
- Headings start sections (chapters). A first heading with nothing under it names the routine.
- Line ids come from each line's first words (`welcome.take-a-deep-breath`): they survive
  inserting or moving other lines, so recordings and caches follow them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TemplateError
from ..narration.textsplit import split_for_tts
from ..tuning import MAX_LINE_CHARS, SCRIPT_PAUSE_S, SCRIPT_STRETCH
from .expand import expand
from .load import SCRIPT_SUFFIXES
from .model import Script
from .script_markup import KINDS, Boundary, Chime, Event, Gap, Heading, Words, scan
from .steps import MARKUP
from .tomlfile import TemplateProblem, read_text

URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)
URL_PROBLEM = "is a web address, which a voice reads letter by letter; remove it or say it in words"
ID_WORDS, ID_MAX_CHARS = 4, 40


@dataclass(frozen=True)
class Imported:
    """A script read as a routine: its document, the Script it expands to, and notes."""

    document: dict[str, Any]
    script: Script
    notes: tuple[str, ...]  # 'FILE:LINE: <prosody> removed: ...'


def is_script(name_or_path: str) -> bool:
    """True for a file name pmr reads as a text script rather than as a routine TOML."""
    return Path(name_or_path).suffix.lower() in SCRIPT_SUFFIXES


def read_script(path: Path, language: str = "en", stretch: bool = False) -> Imported:
    """Read a script file: UTF-8 (a BOM is dropped), its kind from its suffix."""
    kind = SCRIPT_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise TemplateError(f"{path}: not a script; give a {', '.join(SCRIPT_SUFFIXES)} file")
    text = read_text(path, TemplateError).removeprefix("\ufeff")
    return parse_script(text, str(path), kind, language=language, stretch=stretch)


def parse_script(
    text: str, source: str, kind: str = "text", language: str = "en", stretch: bool = False
) -> Imported:
    """The routine a script describes; a TemplateError lists every problem as FILE:LINE."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: one of {KINDS}")
    scanned = scan(text.replace("\r\n", "\n").replace("\r", "\n"), kind)
    builder = _Builder(stretch)
    for event in scanned.events:
        builder.add(event)
    builder.finish()
    problems = [*scanned.problems, *builder.problems]
    document = builder.document(Path(source).stem, Path(source).name, language)
    found: list[TemplateProblem] = []
    script = expand(document, source=source, problems=found)
    known = {problem for _, problem in problems}
    problems += [(builder.line_of(p.key), p.problem) for p in found if p.problem not in known]
    if len(problems) > 1:  # a consequence of the others, not news
        problems = [p for p in problems if not p[1].startswith("the routine has no line")]
    if problems:
        raise ScriptProblems(source, problems)
    notes = sorted(scanned.notes + tuple(builder.notes))
    return Imported(document, script, tuple(f"{source}:{line}: {note}" for line, note in notes))


class ScriptProblems(TemplateError):
    """Every problem of a script, each as 'FILE:LINE: problem' in line order (`.lines`)."""

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        ordered = sorted(dict.fromkeys(problems), key=lambda p: p[0])
        self.lines = tuple(f"{source}:{line}: {problem}" for line, problem in ordered)
        if len(self.lines) == 1:
            super().__init__(self.lines[0])
        else:
            listing = "\n".join(f"  {line}" for line in self.lines)
            super().__init__(f"{source}: {len(self.lines)} problems\n{listing}")


@dataclass
class _Section:
    title: str | None  # None: the untitled opening, named after the routine
    line: int
    steps: list[tuple[dict[str, Any], int]] = field(default_factory=list)


@dataclass
class _Builder:
    """Events -> sections of steps, each step remembering the line it came from."""

    stretch: bool
    sections: list[_Section] = field(default_factory=list)
    current: _Section | None = None
    pauses: dict[str, dict[str, float]] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)
    words_line: int = 0
    after_line: bool = False  # the last step is a spoken line with no pause written after it
    paragraph: bool = False  # ... and a paragraph ended since
    title: str | None = None
    notes: list[tuple[int, str]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def add(self, event: Event) -> None:
        if isinstance(event, Words):
            if event.text.strip() and not self.words:
                self.words_line = event.line
            if self.words or event.text.strip():
                self.words.append(event.text)
            for url in URL.findall(event.text):
                self.problems.append((event.line, f"{url!r} {URL_PROBLEM}"))
            markup = MARKUP.search(event.text)
            if markup:  # entities decoded once may leave markup the template refuses
                self.problems.append(
                    (event.line, f"contains markup ({markup.group()!r}); use plain words")
                )
            return
        self.flush()
        if isinstance(event, Gap):
            self.after_line = self.paragraph = False
            if event.seconds > 0:
                self._step(self._pause(event), event.line)
        elif isinstance(event, Chime):
            self._step({"cue": "chime"}, event.line)
        elif isinstance(event, Boundary):
            self.paragraph = self.after_line
        elif event.level == 0:
            self.title = self.title or event.title
        else:
            self._heading(event)

    def _heading(self, event: Heading) -> None:
        if self.after_line:  # a heading ends a paragraph too; its pause closes the old section
            self._paragraph_pause(event.line)
            self.after_line = self.paragraph = False
        self._close_section()
        self.current = _Section(event.title, event.line)

    def _close_section(self) -> None:
        """A heading with nothing under it names the routine when it comes first, else goes."""
        section = self.current
        if section is None or section.steps:
            return
        if not self.sections and self.title is None:
            self.title = section.title
        else:
            self.notes.append((section.line, f"heading {section.title!r} has nothing under it"))

    def flush(self) -> None:
        text = " ".join("".join(self.words).split())
        self.words = []
        if not text:
            return
        line = self.words_line
        pieces = split_for_tts(text, MAX_LINE_CHARS)
        if len(pieces) > 1:
            note = f"{len(text)} characters, split at sentence ends into {len(pieces)} lines"
            self.notes.append((line, f"{note} (at most {MAX_LINE_CHARS} each)"))
        for piece in pieces:
            if self.paragraph:
                self._paragraph_pause(line)
            self._step({"say": piece}, line)
            self.after_line, self.paragraph = True, False

    def finish(self) -> None:
        self.flush()
        self._close_section()
        if not any("say" in step for s in self.sections for step, _ in s.steps):
            self.problems.append((1, "the script has no words to speak"))

    def _paragraph_pause(self, line: int) -> None:
        self._step(self._pause(Gap(SCRIPT_PAUSE_S["paragraph"], "paragraph", line)), line)

    def _step(self, step: dict[str, Any], line: int) -> None:
        if self.current is None:
            self.current = _Section(None, line)
        if not self.current.steps:
            self.sections.append(self.current)
        self.current.steps.append((step, line))

    def _pause(self, gap: Gap) -> dict[str, Any]:
        """A fixed inline number, a named default, or (stretch) an elastic named pause."""
        if gap.kind == "seconds" and not self.stretch:
            return {"pause": _number(gap.seconds)}
        name = gap.kind if gap.kind != "seconds" else f"s{_number(gap.seconds)}".replace(".", "-")
        seconds = _number(gap.seconds)
        if self.stretch:
            spec = {"min": seconds, "default": seconds, "max": _number(seconds * SCRIPT_STRETCH)}
            self.pauses[name] = {**spec, "weight": _number(min(max(gap.seconds, 0.01), 100))}
        else:
            self.pauses[name] = {"seconds": seconds}
        return {"pause": name}

    def document(self, stem: str, file_name: str, language: str) -> dict[str, Any]:
        """The routine document: [routine], [pauses] when named ones are used, [[sections]]."""
        title = self.title or (self.sections[0].title if self.sections else None)
        title = title or stem.replace("-", " ").replace("_", " ").strip().capitalize() or "Script"
        routine = {
            "name": _slug(stem) or "script",
            "title": title,
            "language": language,
            "description": f"Imported from {file_name}",
            "minutes": "natural",
        }
        document: dict[str, Any] = {"routine": routine}
        if self.pauses:
            document["pauses"] = dict(self.pauses)
        ids: set[str] = set()
        sections = []
        for index, section in enumerate(self.sections):
            name = section.title or title
            section_id = _unique(_slug(name) or f"section-{index + 1}", ids)
            line_ids: set[str] = set()
            steps = [_with_id(step, line_ids) for step, _ in section.steps]
            sections.append({"id": section_id, "title": name, "steps": steps})
        document["sections"] = sections
        return document

    def line_of(self, key: str) -> int:
        """The source line of a template key path ('sections[2].steps[4].say')."""
        match = re.match(r"sections\[(\d+)\](?:\.steps\[(\d+)\])?", key)
        if match is None or int(match.group(1)) >= len(self.sections):
            return 1
        section = self.sections[int(match.group(1))]
        if match.group(2) is None or int(match.group(2)) >= len(section.steps):
            return section.line
        return section.steps[int(match.group(2))][1]


def _with_id(step: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    if "say" not in step:
        return step
    words = re.findall(r"[a-z0-9]+", _ascii(step["say"]).lower())[:ID_WORDS]
    base = "-".join(words)[:ID_MAX_CHARS].strip("-") or "line"
    return {"id": _unique(base, taken), "say": step["say"]}


def _unique(base: str, taken: set[str]) -> str:
    name, count = base, 1
    while name in taken:
        count += 1
        name = f"{base}-{count}"
    taken.add(name)
    return name


def _slug(text: str) -> str:
    """Lowercase letters, digits and '-' (the template's id rule), accents folded."""
    return re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _number(seconds: float) -> int | float:
    """Seconds as TOML writes them best: 7, 2.5, 0.75 (to the millisecond)."""
    value = round(seconds, 3)
    return int(value) if value == int(value) else value
