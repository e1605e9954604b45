"""Scripts from other tools -> routines, and routines -> scripts: pure, in/out pairs."""

from __future__ import annotations

import tomllib

import pytest

from pipeline.errors import TemplateError
from pipeline.template import Line, Pause, builtin_routines, load_script
from pipeline.template.script_export import as_ssml, as_text, chapters_natural
from pipeline.template.script_import import parse_script
from pipeline.template.tomlwrite import dumps
from pipeline.tuning import SCRIPT_PAUSE_S


def steps(text: str, kind: str = "text", **options) -> list[tuple[str, object]]:
    """('say', text) and ('pause', seconds) pairs of every section, in order."""
    script = parse_script(text, f"s.{ {'text': 'txt'}.get(kind, kind) }", kind, **options).script
    out: list[tuple[str, object]] = []
    for section in script.sections:
        for step in section.steps:
            if isinstance(step, Line):
                out.append(("say", step.text))
            elif isinstance(step, Pause):
                out.append(("pause", step.default_s))
            else:
                out.append(("cue", step.name))
    return out


@pytest.mark.parametrize(
    ("marker", "seconds"),
    [
        ("[PAUSE:7]", 7.0),  # Meditation-Generator
        ("[PAUSE: 10]", 10.0),
        ("[pause:2.5s]", 2.5),  # MoodScape
        ("[breath]", SCRIPT_PAUSE_S["breath"]),
        ("[pause:3]", 3.0),  # ebook2audiobook
        ("[pause]", SCRIPT_PAUSE_S["pause"]),
        ("[break]", SCRIPT_PAUSE_S["break"]),
        ("[pause:750ms]", 0.75),
        ('<break time="3s"/>', 3.0),  # SSML
        ('<break time="500ms"/>', 0.5),
        ("<break time='1.25s' />", 1.25),
        ('<break strength="strong"/>', SCRIPT_PAUSE_S["strong"]),
        ('<break strength="x-weak"/>', SCRIPT_PAUSE_S["x-weak"]),
        ("<break/>", SCRIPT_PAUSE_S["medium"]),  # SSML's default strength
    ],
)
def test_each_marker_is_a_fixed_pause_of_its_seconds(marker: str, seconds: float) -> None:
    assert steps(f"Breathe in. {marker} Breathe out.") == [
        ("say", "Breathe in."),
        ("pause", seconds),
        ("say", "Breathe out."),
    ]


def test_written_seconds_are_inline_and_bare_markers_named_defaults() -> None:
    document = parse_script("One. [PAUSE:7] Two. [breath] Three.", "s.txt").document
    assert document["routine"]["minutes"] == "natural"
    assert document["pauses"] == {"breath": {"seconds": SCRIPT_PAUSE_S["breath"]}}
    pauses = [s["pause"] for s in document["sections"][0]["steps"] if "pause" in s]
    assert pauses == [7, "breath"]


def test_blank_line_is_a_paragraph_pause_unless_a_marker_is_written() -> None:
    paragraph = SCRIPT_PAUSE_S["paragraph"]
    assert steps("Wrapped line\ncontinues here.\n\nNext paragraph.\n\n\nLast.") == [
        ("say", "Wrapped line continues here."),
        ("pause", paragraph),
        ("say", "Next paragraph."),
        ("pause", paragraph),
        ("say", "Last."),
    ]
    # the written pause replaces the paragraph's, before or after the blank line
    assert steps("One. [pause:4]\n\nTwo.\n\n[pause:5]\nThree.") == [
        ("say", "One."),
        ("pause", 4.0),
        ("say", "Two."),
        ("pause", 5.0),
        ("say", "Three."),
    ]


def test_zero_pause_separates_lines_without_silence() -> None:
    assert steps('One. [pause:0] Two. <break strength="none"/> Three.') == [
        ("say", "One."),
        ("say", "Two."),
        ("say", "Three."),
    ]


def test_headings_become_sections_and_the_first_empty_one_names_the_routine() -> None:
    text = "# Evening\n\n## Arrive\nWelcome. [pause:2]\n\n[Hands]\nMake fists.\n\n### Rest\nRest."
    imported = parse_script(text, "evening-script.md", "md")
    script = imported.script
    assert script.title == "Evening"
    assert script.name == "evening-script"
    assert [(s.id, s.title) for s in script.sections] == [
        ("arrive", "Arrive"),
        ("hands", "Hands"),
        ("rest", "Rest"),
    ]
    # a heading closes a paragraph: its pause ends the section before it
    assert [type(s).__name__ for s in script.sections[1].steps] == ["Line", "Pause"]
    assert script.sections[1].steps[1].kind == "paragraph"


def test_text_before_any_heading_is_an_opening_named_after_the_routine() -> None:
    script = parse_script("Hello there.\n\n# Part two\nMore.", "my_script.txt").script
    assert script.title == "My script"
    assert [(s.id, s.title) for s in script.sections] == [
        ("my-script", "My script"),
        ("part-two", "Part two"),
    ]


def test_line_ids_come_from_the_first_words_and_stay_unique() -> None:
    script = parse_script(
        "Breathe in slowly now please. [pause:1] Relax. [pause:1] Relax.", "a.txt"
    )
    ids = [line.id for line in script.script.lines()]
    assert ids == ["a.breathe-in-slowly-now", "a.relax", "a.relax-2"]
    # inserting a line elsewhere leaves the others' ids alone
    again = parse_script("New first line. [pause:1] Breathe in slowly now please.", "a.txt")
    assert "a.breathe-in-slowly-now" in [line.id for line in again.script.lines()]


def test_ssml_document_tags_entities_and_notes() -> None:
    text = (
        '<?xml version="1.0"?>\n<speak version="1.1" xml:lang="en">\n'
        '<p>Close your eyes &amp; rest. <break time="3s"/> Slowly.</p>\n\n'
        '<p><prosody rate="slow">Deeply</prosody> at <sub alias="ease">E.A.S.E.</sub></p>\n'
        "</speak>\n"
    )
    imported = parse_script(text, "s.ssml", "ssml")
    assert steps(text, "ssml") == [
        ("say", "Close your eyes & rest."),
        ("pause", 3.0),
        ("say", "Slowly."),
        ("pause", SCRIPT_PAUSE_S["paragraph"]),  # <p> ... </p> <p>, not the blank line
        ("say", "Deeply at ease"),
    ]
    assert imported.notes == ("s.ssml:5: <prosody> removed: its words are spoken plainly",)


def test_markdown_emphasis_and_bullets_are_not_spoken() -> None:
    assert steps("- **Relax** your *jaw*. [pause:1]\n> 2. Let go.", "md")[::2] == [
        ("say", "Relax your jaw."),
        ("say", "Let go."),
    ]


def test_long_paragraph_is_split_at_sentence_ends() -> None:
    sentence = "Let the feeling of warmth spread slowly through your arms and hands. "
    text = sentence * 12  # about 830 characters
    imported = parse_script(text, "s.txt")
    lines = list(imported.script.lines())
    assert len(lines) == 2 and all(len(line.text) <= 600 for line in lines)
    assert "split at sentence ends" in imported.notes[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hi. [PAUSE:abc]", "s.txt:1: [PAUSE:abc]: 'abc' is not a length in seconds; valid: ["),
        ("Hi.\n\n[pause:-2]", "s.txt:3: [pause:-2] is negative"),
        ("Hi. [pause:3601]", "s.txt:1: [pause:3601] is over an hour"),
        ('Hi.\n<break time="2h"/>', "s.txt:2: <break time=\"2h\"/> '2h' is not a length"),
        ('Hi. <break strength="huge"/>', 's.txt:1: <break strength="huge"/> is not a strength'),
        ("Hi.\n<prosody rate='slow'>Slow.", "s.txt:2: <prosody> is never closed"),
        ("Hi. <emphasis>Slow.</prosody>", "s.txt:1: </prosody> closes no open <prosody>"),
        ("Hi.\nA < B.", "s.txt:2: a lone '<'"),
        ("Hi. [inhale] deeply.", "s.txt:1: unknown marker [inhale]; valid:"),
        ("See https://x.org now.", "s.txt:1: 'https://x.org' is a web address"),
        ("Hi &amp;lt;b&amp;gt; there.", "s.txt:1: contains markup ('&lt;')"),
        ("Hi.\n# \n", "s.txt:2: a heading needs a title"),
        ("[pause:3]\n\n", "s.txt:1: the script has no words to speak"),
    ],
)
def test_bad_markers_name_file_line_and_valid_forms(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as raised:
        parse_script(text, "s.txt")
    assert message in str(raised.value)


def test_every_problem_is_listed_in_line_order() -> None:
    with pytest.raises(TemplateError) as raised:
        parse_script("One. [pause:x]\nTwo.\nThree. [pause:-1]", "s.txt")
    lines = str(raised.value).splitlines()
    assert lines[0] == "s.txt: 2 problems"
    assert lines[1].startswith("  s.txt:1: ") and lines[2].startswith("  s.txt:3: ")


def test_stretch_makes_each_pause_elastic_up_to_three_times() -> None:
    document = parse_script("One. [PAUSE:7] Two. [breath] Three. [pause:7]", "s.txt", stretch=True)
    pauses = document.document["pauses"]
    assert pauses["s7"] == {"min": 7, "default": 7, "max": 21, "weight": 7}
    breath = SCRIPT_PAUSE_S["breath"]
    assert pauses["breath"] == {
        "min": breath,
        "default": breath,
        "max": breath * 3,
        "weight": breath,
    }
    assert not any(
        p.fixed for s in document.script.sections for p in s.steps if isinstance(p, Pause)
    )


def test_toml_writer_round_trips_through_tomllib_and_the_template() -> None:
    text = 'Say "quoted" \\ words\u00e9. [pause:2.5]\n\n# Ch\u00e2pter\nMore. [breath]'
    imported = parse_script(text, "s.md", "md", language="fr")
    toml = dumps(imported.document, "Imported by pmr")
    assert toml.startswith("# Imported by pmr\n\n[routine]\n")
    assert tomllib.loads(toml) == imported.document


@pytest.mark.parametrize("routine", builtin_routines())
@pytest.mark.parametrize("fmt", ["text", "ssml"])
def test_export_then_import_keeps_every_line_and_pause(routine: str, fmt: str) -> None:
    script = load_script(routine)
    chapters = chapters_natural(script)
    if fmt == "text":
        text, kind = as_text(script.title, chapters), "md"
    else:
        text, kind = as_ssml(script.title, script.language, chapters), "ssml"
    back = parse_script(text, f"{routine}.{kind}", kind, language=script.language).script
    assert back.title == script.title
    assert chapters_natural(back) == chapters
