"""A routine -> a script with pause markers, to edit in any editor and import again (pure).

`chapters_natural` walks the routine as written (every section once, each elastic pause at its
default); `chapters_of` reads a fitted Timeline instead (the lengths of a given --minutes:
dropped sections left out, extra runs written out). `as_text` writes Markdown headings and
`[pause:N]` markers, `as_ssml` an SSML 1.1 document with `<break time="Ns"/>` and pmr's
`<mark name="chapter:..."/>`. Importing either gives back the same lines and pauses: lines
that follow each other with no pause between are kept apart by a zero pause, which the
importer reads as "no silence, but a new line".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..fit import Structure, Timeline, parts
from .model import Cue, Line, Pause, Script

FORMATS = {"text": ".txt", "ssml": ".ssml"}


@dataclass(frozen=True)
class Said:
    text: str


@dataclass(frozen=True)
class Silence:
    seconds: float


@dataclass(frozen=True)
class Sound:
    name: str


Item = Said | Silence | Sound


@dataclass(frozen=True)
class Chapter:
    title: str
    items: tuple[Item, ...]


def chapters_natural(script: Script) -> list[Chapter]:
    """Every section once, in order; fixed pauses as written, elastic ones at their default."""
    base = Structure(frozenset(), tuple(1 for _ in script.repeats))
    chapters = []
    for part in parts(script, base):
        items: list[Item] = []
        for step in part.steps:
            if isinstance(step, Line):
                items.append(Said(step.text))
            elif isinstance(step, Pause):
                items.append(Silence(step.min_s if step.fixed else step.default_s))
            else:
                assert isinstance(step, Cue)
                items.append(Sound(step.name))
        chapters.append(Chapter(part.title, tuple(items)))
    return chapters


def chapters_of(script: Script, timeline: Timeline) -> list[Chapter]:
    """The chapters of a fitted session, each pause at the length the fitter gave it."""
    texts = {line.id: line.text for line in script.lines()}
    by_chapter: dict[str, list[Item]] = {c.id: [] for c in timeline.chapters}
    for event in timeline.events:
        if event.kind == "line":
            item: Item = Said(texts[event.ref])
        elif event.kind == "pause":
            item = Silence(round(event.length / timeline.rate_hz, 3))
        else:
            item = Sound(event.ref)
        by_chapter[event.section].append(item)
    return [Chapter(c.title, tuple(by_chapter[c.id])) for c in timeline.chapters]


def as_text(title: str, chapters: Iterable[Chapter]) -> str:
    """Markdown: `# title`, `## chapter`, one spoken line per text line, `[pause:N]` markers."""
    out = [f"# {title}"]
    for chapter in chapters:
        out += ["", f"## {chapter.title}"]
        out += [_text_item(item) for item in _separated(chapter.items)]
    return "\n".join(out) + "\n"


def as_ssml(title: str, language: str, chapters: Iterable[Chapter]) -> str:
    """SSML 1.1 (W3C): breaks with exact times; chapters and cues as pmr's named marks."""
    from xml.sax.saxutils import quoteattr  # (it imports urllib.request: only when asked)

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" '
        f"xml:lang={quoteattr(language)}>",
        f"<mark name={quoteattr('title:' + title)}/>",
    ]
    for chapter in chapters:
        out += ["", f"<mark name={quoteattr('chapter:' + chapter.title)}/>"]
        out += [_ssml_item(item) for item in _separated(chapter.items)]
    return "\n".join([*out, "</speak>"]) + "\n"


def _separated(items: tuple[Item, ...]) -> list[Item]:
    """A zero pause after every spoken line that no pause follows (the next line, a chapter)."""
    out: list[Item] = []
    for index, item in enumerate(items):
        out.append(item)
        following = items[index + 1] if index + 1 < len(items) else None
        if isinstance(item, Said) and not isinstance(following, Silence):
            out.append(Silence(0.0))
    return out


def _seconds(value: float) -> str:
    value = round(value, 3)
    return f"{int(value)}" if value == int(value) else repr(value)


def _text_item(item: Item) -> str:
    if isinstance(item, Said):
        return item.text
    if isinstance(item, Silence):
        return f"[pause:{_seconds(item.seconds)}]"
    return f"[{item.name}]"


def _ssml_item(item: Item) -> str:
    from xml.sax.saxutils import escape, quoteattr

    if isinstance(item, Said):
        return escape(item.text)
    if isinstance(item, Silence):
        return f'<break time="{_seconds(item.seconds)}s"/>'
    return f"<mark name={quoteattr('cue:' + item.name)}/>"
