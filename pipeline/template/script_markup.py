"""Scripts written for other tools -> a flat list of events: words, pauses, headings, chimes.

Pure: `scan(text, kind)` reads the markup of the tools people bring scripts from:

- Meditation-Generator `[PAUSE:7]`, MoodScape `[pause:2.5s]` and `[breath]`, ebook2audiobook
  `[pause:N]`, `[pause]` and `[break]` (markers are case-insensitive; `ms` is accepted too);
- SSML `<break time="3s"/>`, `<break time="500ms"/>`, `<break strength="strong"/>`, `<p>` as a
  paragraph, `<sub alias="...">`; other tags are removed with a note, entities decoded;
- Markdown `#`..`######` heading lines, or a line that is only `[Title]`, start a section;
- plain text, where a blank line (outside .ssml files) is a paragraph boundary;
- pmr's own `[chime]`, and in SSML `<mark name="chapter:Title"/>`, `<mark name="title:..."/>`
  and `<mark name="cue:chime"/>`, which `pmr export-script` writes so a script comes back whole.

Every problem carries its 1-based line; nothing here raises.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from dataclasses import dataclass, field

from ..tuning import SCRIPT_MAX_PAUSE_S, SCRIPT_PAUSE_S

STRENGTHS = ("none", "x-weak", "weak", "medium", "strong", "x-strong")  # SSML 1.1, 3.2.3
VALID_MARKERS = (
    '[PAUSE:7], [pause:2.5s], [pause:500ms], [pause], [break], [breath], <break time="3s"/>, '
    f'<break time="500ms"/>, <break strength="strong"/> (strengths: {", ".join(STRENGTHS)})'
)
RANGE = f"a pause is 0 to {SCRIPT_MAX_PAUSE_S:g} seconds; valid: {VALID_MARKERS}"
KINDS = ("text", "md", "ssml")

TOKEN = re.compile(r"<!--.*?(?:-->|\Z)|<[^<>]*>|\[[^\[\]\n]*\]|[<\n]", re.S)
TAG = re.compile(
    r"<(/?)([A-Za-z][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>",
)
ATTR = re.compile(r"([\w.:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
MARKER = re.compile(r"\s*(pause|break|breath|chime)\b(.*)", re.I | re.S)
LENGTH = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|secs|seconds)?", re.I)
SSML_TIME = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s)")
HEADING = re.compile(r"\s*(#{1,6})\s+(.*?)\s*#*\s*")
MD_PREFIX = re.compile(r"^\s*(?:>\s?)*(?:[-*+]\s+|\d+[.)]\s+)?")
MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
MD_RULE = re.compile(r"\s*([-*_])(?:\s*\1){2,}\s*")
QUIET_TAGS = ("speak", "s", "p", "sub", "break", "mark")  # handled, so removed without a note


@dataclass(frozen=True)
class Words:
    text: str  # entities decoded; whitespace as written (the importer joins and collapses)
    line: int


@dataclass(frozen=True)
class Gap:
    """A written pause: `kind` is 'seconds' for a written length, else a SCRIPT_PAUSE_S name."""

    seconds: float
    kind: str
    line: int


@dataclass(frozen=True)
class Heading:
    title: str
    line: int
    level: int  # 1-6 for Markdown, 2 for [Title] and chapter marks, 0 names the routine


@dataclass(frozen=True)
class Boundary:
    """A paragraph ends here (a blank line, or an SSML <p>/</p>)."""

    line: int


@dataclass(frozen=True)
class Chime:
    line: int


Event = Words | Gap | Heading | Boundary | Chime


@dataclass(frozen=True)
class Scanned:
    events: tuple[Event, ...]
    notes: tuple[tuple[int, str], ...]
    problems: tuple[tuple[int, str], ...]


def scan(text: str, kind: str = "text") -> Scanned:
    """Events in reading order, with notes (removed tags) and problems (bad markers), by line."""
    state = _State(kind)
    for row in _rows(text):
        state.row(row)
    for name, line in state.stack:
        state.problems.append((line, f"<{name}> is never closed; close it with </{name}>"))
    return Scanned(tuple(state.events), tuple(state.notes), tuple(state.problems))


def parse_marker(inner: str) -> Gap | Chime | str | None:
    """The event a `[...]` marker stands for (line 0), a problem, or None (not a marker)."""
    match = MARKER.fullmatch(inner)
    if match is None:
        return None
    name, rest = match.group(1).lower(), match.group(2).strip()
    written = f"[{inner}]"
    if not rest:
        return Chime(0) if name == "chime" else Gap(SCRIPT_PAUSE_S[name], name, 0)
    if name != "pause" or not rest.startswith(":"):
        return f"{written} is not a pause marker; valid: {VALID_MARKERS}"
    value = rest[1:].strip()
    if value.startswith("-"):
        return f"{written} is negative; {RANGE}"
    length = LENGTH.fullmatch(value)
    if length is None:
        return f"{written}: {value!r} is not a length in seconds; valid: {VALID_MARKERS}"
    return _gap(float(length.group(1)), (length.group(2) or "s").lower() == "ms", written)


def _gap(number: float, millis: bool, written: str) -> Gap | str:
    seconds = round(number / 1000 if millis else number, 3)
    if seconds > SCRIPT_MAX_PAUSE_S:
        return f"{written} is over an hour; {RANGE}"
    return Gap(seconds, "seconds", 0)


@dataclass(frozen=True)
class _Piece:
    kind: str  # text, bracket, tag, lt
    value: str
    line: int


def _rows(text: str) -> list[list[_Piece]]:
    """The pieces of each physical line (a tag or comment spanning lines belongs to its first)."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    rows: list[list[_Piece]] = [[]]
    position = 0

    def line_of(offset: int) -> int:
        return bisect_right(starts, offset)

    for match in TOKEN.finditer(text):
        if match.start() > position:
            rows[-1].append(_Piece("text", text[position : match.start()], line_of(position)))
        token, line = match.group(), line_of(match.start())
        if token == "\n":
            rows.append([])
        elif token.startswith("<!--"):
            if not token.endswith("-->"):
                rows[-1].append(_Piece("lt", "<!--", line))
        elif token == "<":
            rows[-1].append(_Piece("lt", "<", line))
        else:
            rows[-1].append(_Piece("bracket" if token[0] == "[" else "tag", token, line))
        position = match.end()
    if position < len(text):
        rows[-1].append(_Piece("text", text[position:], line_of(position)))
    return rows


@dataclass
class _State:
    kind: str
    events: list[Event] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    stack: list[tuple[str, int]] = field(default_factory=list)  # open SSML tags
    muted: int = 0  # inside <sub alias>: the alias is spoken instead of the words
    removed: set[str] = field(default_factory=set)

    def row(self, pieces: list[_Piece]) -> None:
        if self.kind == "md":
            pieces = _markdown(pieces)
        content = [p for p in pieces if p.kind != "text" or p.value.strip()]
        if not content:
            if self.kind != "ssml" and not self.muted:
                self.events.append(Boundary(pieces[0].line if pieces else 0))
            return
        first = content[0]
        heading = HEADING.fullmatch(first.value) if first.kind == "text" else None
        if heading and not self.muted:
            return self._heading(heading, content)
        if len(content) == 1 and first.kind == "bracket":
            inner = first.value[1:-1]
            if parse_marker(inner) is None and inner.strip():
                self.events.append(Heading(html.unescape(inner.strip()), first.line, 2))
                return
        for piece in pieces:
            self._inline(piece)
        self.events.append(Words(" ", pieces[-1].line))  # a line end separates words

    def _heading(self, match: re.Match[str], content: list[_Piece]) -> None:
        line = content[0].line
        if len(content) > 1:
            self.problems.append((line, "a heading line holds only its title (no markers)"))
            return
        title = html.unescape(match.group(2))
        if not title:
            self.problems.append((line, "a heading needs a title after its '#'"))
            return
        self.events.append(Heading(title, line, len(match.group(1))))

    def _inline(self, piece: _Piece) -> None:
        if piece.kind == "text":
            if not self.muted:
                self.events.append(Words(html.unescape(piece.value), piece.line))
        elif piece.kind == "lt":
            what = "a comment that is never closed" if piece.value == "<!--" else "a lone '<'"
            self.problems.append(
                (piece.line, f"{what}: close the tag or comment, or write '<' as &lt;")
            )
        elif piece.kind == "bracket":
            self._bracket(piece)
        else:
            self._tag(piece)

    def _bracket(self, piece: _Piece) -> None:
        found = parse_marker(piece.value[1:-1])
        if found is None:
            self.problems.append(
                (piece.line, f"unknown marker {piece.value}; valid: {VALID_MARKERS}, [chime]")
            )
        elif isinstance(found, str):
            self.problems.append((piece.line, found))
        elif isinstance(found, Chime):
            self.events.append(Chime(piece.line))
        else:
            self.events.append(Gap(found.seconds, found.kind, piece.line))

    def _tag(self, piece: _Piece) -> None:
        raw, line = piece.value, piece.line
        if raw.startswith(("<?", "<!")):
            return  # <?xml ...?>, <!DOCTYPE ...>
        match = TAG.fullmatch(raw)
        if match is None:
            self.problems.append((line, f'malformed tag {raw[:60]!r}; write it as <name a="v">'))
            return
        closing, name, attrs, empty = match.groups()
        name = name.lower()
        if closing:
            return self._close(name, line)
        if not empty:
            self.stack.append((name, line))
        self._open(
            name, {m.group(1): m.group(2) or m.group(3) or "" for m in ATTR.finditer(attrs)}, line
        )

    def _close(self, name: str, line: int) -> None:
        names = [open_name for open_name, _ in self.stack]
        if name not in names:
            self.problems.append((line, f"</{name}> closes no open <{name}>"))
            return
        while self.stack[-1][0] != name:  # tags opened inside it and left open
            inner, opened = self.stack.pop()
            self.problems.append(
                (opened, f"<{inner}> is never closed; close it with </{inner}> before </{name}>")
            )
        self.stack.pop()
        if name == "p":
            self.events.append(Boundary(line))
        elif name == "sub":
            self.muted = max(self.muted - 1, 0)

    def _open(self, name: str, attrs: dict[str, str], line: int) -> None:
        if name == "p":
            self.events.append(Boundary(line))
        elif name == "sub":
            self.events.append(Words(html.unescape(attrs.get("alias", "")), line))
            self.muted += 1
        elif name == "break":
            self._break(attrs, line)
        elif name == "mark":
            self._mark(html.unescape(attrs.get("name", "")), line)
        elif name not in QUIET_TAGS and name not in self.removed:
            self.removed.add(name)
            self.notes.append((line, f"<{name}> removed: its words are spoken plainly"))

    def _break(self, attrs: dict[str, str], line: int) -> None:
        if "time" in attrs:
            time = attrs["time"].strip()
            written = f'<break time="{time}"/>'
            match = SSML_TIME.fullmatch(time)
            if match is None:
                problem = (
                    f"is negative; {RANGE}"
                    if time.startswith("-")
                    else f"{time!r} is not a length; valid: {VALID_MARKERS}"
                )
                self.problems.append((line, f"{written} {problem}"))
                return
            found = _gap(float(match.group(1)), match.group(2) == "ms", written)
        else:
            strength = attrs.get("strength", "medium").strip().lower()
            if strength not in SCRIPT_PAUSE_S or strength in ("pause", "break", "breath"):
                self.problems.append(
                    (
                        line,
                        f'<break strength="{strength}"/> is not a strength; valid: {VALID_MARKERS}',
                    )
                )
                return
            found = Gap(SCRIPT_PAUSE_S[strength], strength, 0)
        if isinstance(found, str):
            self.problems.append((line, found))
        else:
            self.events.append(Gap(found.seconds, found.kind, line))

    def _mark(self, name: str, line: int) -> None:
        what, _, value = name.partition(":")
        if what == "chapter" and value.strip():
            self.events.append(Heading(value.strip(), line, 2))
        elif what == "title" and value.strip():
            self.events.append(Heading(value.strip(), line, 0))
        elif name == "cue:chime":
            self.events.append(Chime(line))
        elif "mark" not in self.removed:
            self.removed.add("mark")
            self.notes.append((line, f"<mark name={name!r}> removed (pmr keeps no marks)"))


def _markdown(pieces: list[_Piece]) -> list[_Piece]:
    """Markdown's list bullets, quote marks, emphasis and rules are not spoken."""
    if not pieces:
        return pieces
    out = []
    for index, piece in enumerate(pieces):
        if piece.kind == "text":
            value = piece.value
            if index == 0:
                if MD_RULE.fullmatch(value):
                    continue
                if not HEADING.fullmatch(value):
                    value = MD_PREFIX.sub("", value, count=1)
            piece = _Piece("text", MD_EMPHASIS.sub(r"\2", value), piece.line)
        out.append(piece)
    return out
