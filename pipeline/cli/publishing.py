"""`pmr feed`, `pmr program`, `pmr export`, `pmr index` and `pmr serve`: sessions as a series."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ..errors import PublishError
from ..files import forcing
from .options import Background, CacheDir, Force, Voice
from .output import clock, err, progress

commands = typer.Typer()
OutputDir = Annotated[Path, typer.Argument(help="The folder your sessions were built in.")]


@commands.command("feed")
def feed_command(
    output_dir: OutputDir,
    title: Annotated[str, typer.Option("--title", help="Podcast title.")],
    author: Annotated[str, typer.Option("--author", help="Podcast author (itunes:author).")],
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where OUTPUT_DIR is served, e.g. https://x.org/pmr/")
    ],
    image: Annotated[
        Path | None, typer.Option("--image", help="Square JPEG/PNG art [default: drawn].")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="Show notes.")] = "",
    email: Annotated[
        str | None, typer.Option("--email", help="Owner e-mail (itunes:owner).")
    ] = None,
    force: Force = False,
) -> None:
    """Write OUTPUT_DIR/feed.xml: a podcast feed (RSS 2.0, itunes and podcast namespaces) of
    every session built there, with cover art and an .m3u8 playlist per series.

    Example:

      pmr feed output --title "Evening PMR" --author "Sam" --base-url https://example.org/pmr/
    """
    from ..publish.feed import FeedOptions, write_feed

    options = FeedOptions(
        title=title,
        author=author,
        base_url=base_url,
        image=image,
        description=description,
        email=email,
    )
    with forcing(force):
        path = write_feed(output_dir, options)
    typer.echo(f"{path}  {options.base_url.rstrip('/')}/{path.name}")


@commands.command("program")
def program_command(
    weeks: Annotated[
        int | None,
        typer.Option("--weeks", "-w", help="Length [default: the whole progression, 6 weeks]."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the series.")] = Path(
        "output/program"
    ),
    start: Annotated[
        str | None, typer.Option("--start", help="First day, YYYY-MM-DD [default: today].")
    ] = None,
    title: Annotated[
        str, typer.Option("--title", help="Series title.")
    ] = "Progressive muscle relaxation: a practice program",
    author: Annotated[str, typer.Option("--author", help="Author shown in apps.")] = "pmr",
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where --out will be served.")
    ] = "http://127.0.0.1:8000/",
    voice: Voice = "piper-joe",
    background: Background = "",
    routine: Annotated[
        str | None, typer.Option("--routine", help="Use this routine for every week instead.")
    ] = None,
    minutes: Annotated[
        float | None, typer.Option("--minutes", "-m", help="Use this length for every week.")
    ] = None,
    cover: Annotated[
        Path | None, typer.Option("--cover", help="Square JPEG/PNG art [default: drawn].")
    ] = None,
    cache_dir: CacheDir = None,
    force: Force = False,
) -> None:
    """Build a practice program as a podcast series: one episode a week, following the advice
    to practise twice a day at first, then daily, then three or four times a week.

    The clinical progression: the full routine (weeks 1-2), then seven muscle groups, four,
    relaxing by recall and by counting; each episode says its week and purpose, and pubDates
    follow the schedule. Writes the MP3s, sidecars, feed.xml and an .m3u8 playlist to --out.

    Example:

      pmr program --weeks 4 --out output/program --base-url http://192.168.1.20:8000/
    """
    from ..publish.program import DEFAULT_WEEKS, ProgramOptions, build_program

    first = _parse_date(start) if start else None
    options = ProgramOptions(
        weeks=DEFAULT_WEEKS if weeks is None else weeks, out=out, start=first, title=title,
        author=author, base_url=base_url,
        voice=voice, background=background, routine=routine, minutes=minutes, cover=cover,
        cache_dir=cache_dir,
    )  # fmt: skip
    with progress() as on_progress, forcing(force):
        results, feed = build_program(options, on_progress)
    for result in results:
        typer.echo(f"{result.path}  {clock(result.timeline.seconds)}")
    typer.echo(f"{feed}")


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PublishError(f"--start {text!r}: give a date as YYYY-MM-DD") from None


@commands.command("export")
def export_command(
    dest: Annotated[Path, typer.Argument(help="Where to copy to: a phone's or card's folder.")],
    source: Annotated[
        Path, typer.Option("--from", help="The folder the series was built in.")
    ] = Path("output/program"),
    series: Annotated[
        str | None, typer.Option("--series", help="Only this series [default: all].")
    ] = None,
    force: Force = False,
) -> None:
    """Copy a series (MP3s with tags, chapters and art) and its .m3u8 playlist to DEST/SERIES/,
    with phone-safe file names; files already there unchanged are skipped.

    Example:

      pmr export /media/phone/Music --from output/program
    """
    from ..publish.export import export

    with forcing(force):
        exported = export(source, dest, series)
    for item in exported:
        typer.echo(
            f"{item.folder}  {len(item.copied)} copied, {len(item.unchanged)} unchanged, "
            f"playlist {item.playlist.name}"
        )


@commands.command("index")
def index_command(
    output_dir: OutputDir,
    title: Annotated[
        str | None, typer.Option("--title", help="Page title [default: the feed's].")
    ] = None,
    force: Force = False,
) -> None:
    """Write OUTPUT_DIR/index.html: a player per session with its length, chapters, transcript,
    and links to the feed and playlists. Open it from the disk or through `pmr serve`.
    """
    from ..publish.index_page import write_index

    with forcing(force):
        typer.echo(str(write_index(output_dir, title)))


@commands.command("serve")
def serve_command(
    output_dir: Annotated[Path, typer.Argument(help="The folder to serve.")],
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Address to listen on [default: 127.0.0.1; with --share, this machine's "
            "address on its network]; 0.0.0.0 for every address.",
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port.")] = 8000,
    share: Annotated[
        bool,
        typer.Option(
            "--share",
            help="Serve to phones on your network behind a secret link, printed with a QR "
            "code; the feed, page and playlists are made for that address.",
        ),
    ] = False,
    new_token: Annotated[
        bool,
        typer.Option(
            "--new-token", help="With --share: a new secret link (old links stop working)."
        ),
    ] = False,
    qr: Annotated[
        Path | None,
        typer.Option("--qr", help="With --share: also save the QR code as this new PNG file."),
    ] = None,
) -> None:
    """Serve OUTPUT_DIR over HTTP (with byte ranges, as podcast apps need) until Ctrl-C.

    For a phone on the same Wi-Fi: `pmr serve OUTPUT_DIR --share`, then scan the QR code.
    Read-only: no listings, nothing outside the folder.
    """
    if not share:
        from ..publish.serve import make_server

        if new_token or qr is not None:
            raise PublishError(f"{'--new-token' if new_token else '--qr'} goes with --share")
        server = make_server(output_dir, host or "127.0.0.1", port)
        bound_host, bound_port = server.server_address[:2]
        err.print(f"serving {output_dir} at http://{bound_host}:{bound_port}/ (Ctrl-C stops)")
    else:
        server = _share_server(output_dir, host, port, new_token, qr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        err.print("pmr: stopped")
    finally:
        server.server_close()


def _share_server(folder: Path, host: str | None, port: int, rotate: bool, qr: Path | None):
    from ..publish.share.announce import announcement, exposure
    from ..publish.share.qr import check_qr_path, save_qr
    from ..publish.share.server import make_share_server

    if qr is not None:
        check_qr_path(qr)  # before anything is made
    server = make_share_server(folder, host, port, rotate)
    if qr is not None:
        save_qr(qr, server.share.base_url)
    err.print(exposure(server.share), end="")
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    typer.echo(announcement(server.share, color, qr), nl=False)
    return server
