"""`pmr import` and `pmr export-script`: scripts from other tools in, routines out as scripts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import EncodeError, TemplateError
from ..files import forcing, mark, write_atomic
from ..template import Pause, Script, load_script
from ..tuning import SAMPLE_RATE_HZ
from .options import CacheDir, Quiet, RoutineArgument, Voice
from .output import notices

if TYPE_CHECKING:
    from ..template.script_import import Imported

commands = typer.Typer()
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


@commands.command("import")
def import_command(
    script: Annotated[Path, typer.Argument(help="A script: .txt, .md or .ssml.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Routine TOML [default: SCRIPT.toml].")
    ] = None,
    language: Annotated[
        str, typer.Option("--language", help="The script's language, e.g. en, es, pt-BR.")
    ] = "en",
    stretch: Annotated[
        bool,
        typer.Option("--stretch", help="Pauses may grow to 3x their written length (--minutes)."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")] = False,
    quiet: Quiet = False,
) -> None:
    """Turn a script written for another tool into a routine TOML you can edit and build.

    Pause markers: [PAUSE:7], [pause:2.5s], [pause:500ms], [pause], [break], [breath],
    <break time="3s"/>, <break strength="strong"/>; a blank line is a paragraph pause.
    Headings (# Title, ## Title or a line that is only [Title]) become chapters.

    Examples:

      pmr import evening.txt              # -> evening.toml, built at its natural length

      pmr import evening.md --stretch -o evening.toml && pmr build evening.toml -m 20
    """
    if not LANGUAGE.fullmatch(language):
        raise TemplateError(f"--language {language!r}: give a language code like en or pt-BR")
    from ..template.script_import import read_script
    from ..template.tomlwrite import dumps

    imported = read_script(script, language=language, stretch=stretch)
    target = out or script.with_suffix(".toml")
    if target.suffix != ".toml":
        raise TemplateError(f"--out {target}: give a file name ending in .toml")
    toml = dumps(imported.document, f"Imported from {script.name}; edit freely. {mark()}")
    write_new(target, toml, force)
    for note in imported.notes:
        notices(quiet)(note)
    typer.echo(f"{target}  {_summary(imported)}")


@commands.command("export-script")
def export_script_command(
    routine: RoutineArgument,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="text or ssml [default: from -o, else text]."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Script file [default: print it].")
    ] = None,
    minutes: Annotated[
        float | None,
        typer.Option("--minutes", "-m", help="Write the pauses a session this long would have."),
    ] = None,
    voice: Voice = "piper-joe",
    cache_dir: CacheDir = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")] = False,
    quiet: Quiet = False,
) -> None:
    """Write a routine as a script with pause markers: edit it anywhere, `pmr import` it back.

    Elastic pauses are written at their default, or with --minutes at the lengths that
    session would give them (clip lengths cached or estimated, as `pmr plan` does).

    Examples:

      pmr export-script full -o full.txt

      pmr export-script quick --format ssml -m 8 -o quick-8.ssml
    """
    fmt = fmt or ("ssml" if out is not None and out.suffix.lower() == ".ssml" else "text")
    from ..template.script_export import FORMATS, as_ssml, as_text, chapters_natural, chapters_of

    if fmt not in FORMATS:
        raise TemplateError(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    script = load_script(routine)
    chapters = chapters_natural(script)
    if minutes is not None:
        timeline = _timeline(script, voice, minutes, cache_dir, notices(quiet))
        chapters = chapters_of(script, timeline)
    if fmt == "ssml":
        text = as_ssml(script.title, script.language, chapters)
    else:
        text = as_text(script.title, chapters)
    if out is None:
        typer.echo(text, nl=False)
        return
    write_new(out, text, force)
    typer.echo(f"{out}  {sum(len(c.items) for c in chapters)} steps in {len(chapters)} chapters")


def _timeline(script: Script, voice_name: str, minutes: float, cache_dir: Path | None, notice):
    from ..build import check_minutes
    from ..narration import ClipCache, default_cache_dir, load_voice
    from ..plan import make_plan

    check_minutes(minutes)
    cache = ClipCache(cache_dir or default_cache_dir())
    plan = make_plan(script, load_voice(voice_name), cache, SAMPLE_RATE_HZ, minutes)
    if plan.lengths.estimated:
        notice(
            f"{plan.lengths.estimated} of {len(plan.lengths.frames)} clip lengths are "
            f"estimated from their text (`pmr narrate {script.name}` makes them exact)"
        )
    return plan.timeline


def _summary(imported: Imported) -> str:
    script = imported.script
    steps = [step for section in script.sections for step in section.steps]
    pauses = [step for step in steps if isinstance(step, Pause)]
    written = sum(p.default_s for p in pauses)
    return (
        f"{len(script.sections)} sections, {sum(1 for _ in script.lines())} lines, "
        f"{len(pauses)} pauses ({written:.1f} s written)"
    )


def write_new(target: Path, text: str, force: bool) -> None:
    """Through the one atomic writer and its output policy (files.py): a file pmr did not
    write is replaced only with --force, a folder, link, FIFO or device never."""
    if not target.parent.is_dir():
        raise EncodeError(f"{target}: folder {target.parent} does not exist; create it first")
    with forcing(force):
        write_atomic(target, text, error=EncodeError)
