"""The bad-input table: every user mistake ends with exit 2, one message naming the culprit and
what is valid, no traceback, and nothing at the output path."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

from .conftest import SHORT_ROUTINE

runner = CliRunner()


def routine_with(old: str, new: str) -> Callable[[Path], list[str]]:
    """A build of the mini routine with one piece of its text replaced."""

    def make(folder: Path) -> list[str]:
        assert old in SHORT_ROUTINE
        path = folder / "bad.toml"
        path.write_text(SHORT_ROUTINE.replace(old, new, 1), encoding="utf-8")
        return ["build", str(path), "-m", "1.2"]

    return make


def raw_routine(data: bytes) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        path = folder / "bad.toml"
        path.write_bytes(data)
        return ["build", str(path), "-m", "1.2"]

    return make


def script(name: str, text: str) -> Callable[[Path], list[str]]:
    """A build of a text script (issue 17) straight from its file."""

    def make(folder: Path) -> list[str]:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return ["build", str(path)]

    return make


def args(*words: str) -> Callable[[Path], list[str]]:
    return lambda folder: ["build", *words]


HELLO = '{ id = "hello", say = "Sit comfortably and close your eyes." }'

BAD_INPUTS = {
    "malformed TOML": (raw_routine(b"[routine\nname = 'x'"), "invalid TOML"),
    "non-UTF-8 template": (
        raw_routine("[routine]\ntitle = 'caf\xe9'".encode("latin-1")),
        "not UTF-8",
    ),
    "unknown key": (routine_with('title = "Mini', 'titel = "Mini'), "did you mean 'title'"),
    "pause min > max": (
        routine_with("min = 15, default = 16, max = 40", "min = 50, default = 16, max = 40"),
        "min <= default <= max",
    ),
    "empty line": (routine_with(HELLO, '{ id = "hello", say = "  " }'), "is empty"),
    "markup in text": (
        routine_with(HELLO, '{ id = "hello", say = "<speak>Hi</speak>" }'),
        "markup",
    ),
    "control character": (
        routine_with(HELLO, '{ id = "hello", say = "Hi\\u0007 there" }'),
        "control character",
    ),
    "10,000-character line": (
        routine_with(HELLO, '{ id = "hello", say = "' + "relax " * 1666 + '" }'),
        "split it",
    ),
    "unknown pause": (
        routine_with('{ pause = "hold" }', '{ pause = "holdd" }'),
        "did you mean 'hold'",
    ),
    "unknown routine": (args("fulll"), "did you mean 'full'"),
    "unknown voice": (args("full", "--voice", "joe"), "available voices"),
    "unknown background": (args("full", "--background", "rain"), "unknown background 'rain'"),
    "minutes zero": (args("full", "-m", "0"), "above 0"),
    "minutes negative": (args("full", "-m", "-1"), "above 0"),
    "minutes NaN": (args("full", "-m", "nan"), "above 0"),
    "minutes inf": (args("full", "-m", "inf"), "above 0"),
    "minutes absurd": (args("full", "-m", "10000"), "at most 600"),
    "minutes out of reach": (args("full", "-m", "3"), "out of reach"),
    "language the voice can't speak": (args("completo-es"), "choose a voice for 'es'"),
    "routine minutes not a length": (
        routine_with('language = "en"', 'language = "en"\nminutes = "long"'),
        'or "natural"',
    ),
    "too many sections": (
        routine_with(
            '[[sections]]\nid = "start"',
            "".join(f'[[sections]]\nid = "s{i}"\nsteps = [{{ pause = 1 }}]\n' for i in range(298))
            + '[[sections]]\nid = "start"',
        ),
        "301 sections; a template has at most 300",
    ),
    "too many lines": (
        routine_with(HELLO, ", ".join(f'{{ say = "Line {i}." }}' for i in range(3001))),
        "spoken lines; a template has at most 3000",
    ),
    "template file over 1 MiB": (
        routine_with('title = "Mini', "# " + "x" * (1 << 20) + '\ntitle = "Mini'),
        "over 1024 KiB",
    ),
    "script: bad pause marker": (script("s.txt", "Relax.\nBreathe. [PAUSE:abc]\n"), "s.txt:2:"),
    "script: negative pause": (script("s.md", "Relax. [pause:-3]\n"), "is negative"),
    "script: pause over an hour": (script("s.txt", "Relax. [pause:4000]\n"), "over an hour"),
    "script: unclosed SSML tag": (
        script("s.ssml", "<speak>\n<prosody rate='slow'>Relax.\n</speak>\n"),
        "s.ssml:2: <prosody> is never closed",
    ),
}


def matrix_of(count: int) -> Callable[[Path], list[str]]:
    """A batch of `count` lengths of one routine (the --out of the table is refused there)."""
    lengths = ",".join(str(3 + i / 100) for i in range(count))
    return lambda folder: [
        *("batch", "--routines", "quick", "--minutes", lengths),
        *("--out-dir", str(folder / "out"), "--cache-dir", str(folder / "c")),
    ]


def test_a_big_matrix_needs_yes(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    result = runner.invoke(app, matrix_of(201)(tmp_path))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("pmr: error: ") and "Traceback" not in result.output
    assert "201 variants, more than 200 at once; pass --yes" in result.output
    assert list((tmp_path / "out").iterdir()) == []


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _symlink(path: Path) -> None:
    (path.parent / "real.mp3").write_bytes(b"the link's own target")
    path.symlink_to(path.parent / "real.mp3")


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the node stays


def _device(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # a twin of /dev/full


def _user_file(path: Path) -> None:
    path.write_bytes(b"my own file, not pmr's")


def _user_vtt(path: Path) -> None:
    path.with_suffix(".vtt").write_text("WEBVTT\n\nmy own captions\n")


# What stands at --out (or beside it) before the build, and the message the build gives.
OUTPUTS = {
    "a text file as --out": ("notes.txt", _user_file, "does not end in .mp3"),
    "a FIFO": ("session.mp3", _fifo, "is a FIFO (named pipe)"),
    "a symbolic link": ("session.mp3", _symlink, "is a symbolic link"),
    "a socket": ("session.mp3", _socket, "is a socket"),
    "a device node": ("session.mp3", _device, "is a character device"),
    "an MP3 pmr did not write": ("session.mp3", _user_file, "pmr did not write it; pass --force"),
    "a user's own session.vtt": ("session.mp3", _user_vtt, "session.vtt: exists and pmr did not"),
}


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every entry's type and (for regular files and links) content: nothing may change."""
    shot = {}
    for entry in folder.iterdir():
        info = entry.lstat()
        body = b""
        if stat.S_ISLNK(info.st_mode):
            body = os.readlink(entry).encode()
        elif stat.S_ISREG(info.st_mode):
            body = entry.read_bytes()
        shot[entry.name] = (stat.S_IFMT(info.st_mode), body)
    return shot


@pytest.mark.parametrize("case", OUTPUTS, ids=list(OUTPUTS))
def test_an_output_that_would_destroy_a_file_is_refused(case: str, tmp_path: Path) -> None:
    name, make, expected = OUTPUTS[case]
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / name
    make(target)
    before = _snapshot(folder)
    # Refused before any narration: the cache folder is never even made.
    cache = tmp_path / "cache"
    args = ["build", "quick", "-m", "3", "--out", str(target), "--cache-dir", str(cache)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("pmr: error: ") and expected in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert _snapshot(folder) == before
    assert not cache.exists()


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_clear_message(case: str, tmp_path: Path) -> None:
    make_args, expected = BAD_INPUTS[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "session.mp3"
    result = runner.invoke(app, [*make_args(tmp_path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert result.output.startswith("pmr: error: ")
    assert "Traceback" not in result.output
    assert list(out_dir.iterdir()) == []


def test_template_errors_name_the_file(tmp_path: Path) -> None:
    make_args, _ = BAD_INPUTS["unknown key"]
    result = runner.invoke(app, make_args(tmp_path))
    assert str(tmp_path / "bad.toml") in result.output and "routine.titel" in result.output


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A folder nobody may write: a read-only tmpfs when root (root ignores mode bits)."""
    import os
    import subprocess

    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"can't mount a read-only tmpfs as root: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_read_only_output_folder(read_only_dir: Path) -> None:
    out = read_only_dir / "session.mp3"
    result = runner.invoke(app, ["build", "full", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "is not writable" in result.output and str(read_only_dir) in result.output
    assert not out.exists()
