"""PCM blocks -> MP3 through one real ffmpeg process (libmp3lame, CBR).

Blocks go to ffmpeg's stdin as they are rendered, so rendering and encoding overlap in two
processes. ffmpeg writes a temp file beside the target; only a complete, successful encode is
renamed into place, so nothing half-written ever sits at the output path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np

from .errors import EncodeError
from .files import atomic_path, check_target, mark
from .files import output_lock as output_lock
from .mp3frames import tag_size
from .tuning import CHANNELS, MP3_BITRATE, SAMPLE_RATE_HZ


@cache
def ffmpeg_exe() -> str:
    """$PMR_FFMPEG, else a system ffmpeg on PATH, else the binary that imageio-ffmpeg ships."""
    if chosen := os.environ.get("PMR_FFMPEG"):
        return chosen
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise EncodeError(
            f"no ffmpeg found ({exc}); install ffmpeg or the imageio-ffmpeg package"
        ) from None


def find_ffmpeg_early() -> None:
    """Look ffmpeg up on a thread while the build narrates and plans: imageio-ffmpeg checks its
    binary by running it (`-version`, ~20 ms), once a process and for the workers it forks. A
    failure is left to the real lookup, which reports it."""

    def look() -> None:
        with contextlib.suppress(EncodeError):
            ffmpeg_exe()

    threading.Thread(target=look, daemon=True).start()


PIPE_BYTES = 1 << 20  # Linux's ceiling for an unprivileged pipe (its default is 64 KB)


def pcm_bytes(block: np.ndarray) -> memoryview:
    """A (frames, channels) block as the encoder's f32le input (`pcm_input`), without a copy
    when it is contiguous float32 already (as rendered blocks are)."""
    return memoryview(np.ascontiguousarray(block, dtype="<f4")).cast("B")


def pcm_input(rate_hz: int, channels: int) -> list[str]:
    """ffmpeg's input 0: the blocks `pcm_bytes` writes to its stdin."""
    return ["-f", "f32le", "-ar", str(rate_hz), "-ac", str(channels), "-i", "pipe:0"]


def widen_pipe(stream: IO[bytes]) -> None:
    """Let the pipe into an encoder hold a whole block: a 2 s block (0.7 MB) is then one
    write and one wakeup of ffmpeg's reader, not eleven. Where that can't be set, the pipe
    stays as it is."""
    with contextlib.suppress(ImportError, OSError, AttributeError):
        import fcntl

        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def output_path(given: Path | str | None, default: Path) -> Path:
    """Where an MP3 goes: `default` (its folder made) without --out; inside an existing folder,
    or a path ending in '/', under the default's name; else a name that must end in .mp3."""
    if given is None:
        default.parent.mkdir(parents=True, exist_ok=True)
        return default
    text = str(given)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return Path(text) / default.name
    if Path(text).suffix.lower() != ".mp3":
        raise EncodeError(
            f"--out {text}: is not a folder and does not end in .mp3; give a file name ending "
            "in .mp3 or an existing folder"
        )
    return Path(text)


def check_output_path(
    target: Path,
    inputs: tuple[Path, ...] = (),
    beside: Mapping[Path, Callable[[Path], bool]] | None = None,
) -> Path:
    """Refuse outputs that can't be written before any work is done: a missing or read-only
    folder, an input as output, and what the output policy refuses at the MP3 or at the files
    `beside` it (each with its test of what pmr wrote)."""
    target = Path(target)
    folder = target.parent
    if not folder.is_dir():
        raise EncodeError(
            f"{target}: the folder {folder} does not exist; create it or pick another --out"
        )
    if not os.access(folder, os.W_OK):
        raise EncodeError(f"{target}: the folder {folder} is not writable; pick another --out")
    for source in inputs:
        if source.exists() and target.exists() and target.resolve() == source.resolve():
            raise EncodeError(f"{target}: the output would overwrite an input; pick another --out")
    check_target(target, error=EncodeError)
    for path, ours in (beside or {}).items():
        check_target(path, ours=ours, error=EncodeError)
    return target


def error_tail(stderr: bytes) -> str:
    """ffmpeg's last three lines on stderr, joined into one, for an error message."""
    return " / ".join(stderr.decode(errors="replace").strip().splitlines()[-3:]) or "no message"


def failure_text(target: Path, code: int, errors: str) -> str:
    """What a failed ffmpeg writing `target` (exit `code`, its last `errors`) tells the user."""
    if code == -signal.SIGXFSZ or "No space left" in errors or "File too large" in errors:
        return _no_space(target)
    return f"ffmpeg failed (exit {code}) encoding {target}: {errors}"


def scratch_failure_text(target: Path, scratch: Path, exc: OSError) -> str:
    """What a failed write of a part of `target` into the scratch folder (in $TMPDIR) tells
    the user."""
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return (
            f"{scratch}: no space left to write the chunks of {target} (disk full or file size "
            "limit); free some space, or set TMPDIR to a folder with room"
        )
    return f"{scratch}: can't write the chunks of {target} ({exc.strerror or exc})"


def _no_space(target: Path) -> str:
    return (
        f"{target}: no space left to write it (disk full or file size limit); "
        "free some space or pick another --out"
    )


class Mp3Writer:
    """Context manager around one ffmpeg process; `write` takes (frames, channels) float32.

    Optional publishing inputs: `metadata` is an ffmetadata file (global tags and [CHAPTER]
    sections, which the mp3 muxer writes as ID3v2.3 CHAP + CTOC frames), `cover` a JPEG/PNG
    embedded as the front-cover APIC frame, and `finish` runs on the complete temp file just
    before it is renamed into place (a failure there leaves nothing at the target).
    """

    def __init__(
        self,
        target: Path,
        rate_hz: int = SAMPLE_RATE_HZ,
        channels: int = CHANNELS,
        bitrate: str = MP3_BITRATE,
        tags: Mapping[str, str] | None = None,
        metadata: Path | None = None,
        cover: Path | None = None,
        finish: Callable[[Path], None] | None = None,
    ) -> None:
        self.target = Path(target)
        self.rate_hz, self.channels, self.bitrate = rate_hz, channels, bitrate
        self.tags = dict(tags or {})
        self.metadata, self.cover, self.finish = metadata, cover, finish
        self.frames_written = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: Path | None = None
        self._file: contextlib.ExitStack | None = None  # holds the atomic temp file
        self._log = None

    def command(self, output: Path) -> list[str]:
        return [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            *pcm_input(self.rate_hz, self.channels), *self.publishing_args(),
            "-c:a", "libmp3lame", "-b:a", self.bitrate, "-ar", str(self.rate_hz),
            *self.tag_args(), "-id3v2_version", "3", "-f", "mp3", str(output),
        ]  # fmt: skip

    def tag_args(self) -> list[str]:
        """The tags, and pmr's mark (a TXXX frame) that lets a later build replace the file."""
        tags = {**self.tags, "generator": mark()}
        return [arg for k, v in tags.items() for arg in ("-metadata", f"{k}={v}")]

    def publishing_args(self) -> list[str]:
        """Inputs after the audio (input 0) and the maps that put chapters, tags and the cover
        into the MP3."""
        extra_inputs, maps = [], ["-map", "0:a"]
        if self.metadata is not None:
            extra_inputs += ["-f", "ffmetadata", "-i", str(self.metadata)]
            maps += ["-map_metadata", "1", "-map_chapters", "1"]
        if self.cover is not None:
            extra_inputs += ["-i", str(self.cover)]
            maps += [
                "-map", f"{1 + (self.metadata is not None)}:v", "-c:v", "copy",
                "-disposition:v", "attached_pic",
                "-metadata:s:v", "title=Cover", "-metadata:s:v", "comment=Cover (front)",
            ]  # fmt: skip
        return [*extra_inputs, *maps]

    def tag_header(self, folder: Path) -> bytes:
        """The ID3v2 tag this writer puts before the audio (tags, chapters, cover and what
        `finish` adds), made by encoding one frame of silence with it into `folder`: a chunked
        encode writes it ahead of its joined frames instead of remuxing the whole stream (the
        tag holds nothing that depends on the audio)."""
        stub = Path(folder) / "tag-stub.mp3"
        silence = bytes(4 * self.channels * 1152)
        run = subprocess.run(self.command(stub), input=silence, capture_output=True)
        if run.returncode != 0:
            raise EncodeError(self._failure_text(run.returncode, error_tail(run.stderr)))
        if self.finish is not None:
            self.finish(stub)
        tag = stub.read_bytes()[: id3_size(stub)]
        stub.unlink()
        return tag

    def __enter__(self) -> Mp3Writer:
        self._file = contextlib.ExitStack()
        self._tmp = self._file.enter_context(atomic_path(self.target))
        self._log = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(
                self.command(self._tmp),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
            )
        except OSError as exc:
            self._cleanup()
            raise EncodeError(f"can't start ffmpeg ({ffmpeg_exe()}): {exc.strerror}") from None
        assert self._proc.stdin is not None
        widen_pipe(self._proc.stdin)
        return self

    def write(self, block: np.ndarray) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(pcm_bytes(block))
        except (BrokenPipeError, OSError):
            self._proc.wait()
            raise EncodeError(self._failure(self._proc.returncode)) from None
        self.frames_written += block.shape[0]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        try:
            if exc_type is not None:
                if proc and proc.poll() is None:
                    proc.kill()
                    proc.wait()
                return
            assert proc is not None and proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()
            code = proc.wait()
            if code != 0:
                raise EncodeError(self._failure(code))
            assert self._tmp is not None
            if self.finish is not None:
                self.finish(self._tmp)
            assert self._file is not None
            self._file, file = None, self._file
            self._tmp = None
            file.close()  # the temp file lands on the target
        finally:
            self._cleanup()

    def _failure(self, code: int) -> str:
        return self._failure_text(code, self._errors())

    def _failure_text(self, code: int, errors: str) -> str:
        return failure_text(self.target, code, errors)

    def _errors(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return error_tail(self._log.read())

    def _cleanup(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._file is not None:  # not completed: the temp file goes
            self._file.__exit__(EncodeError, None, None)
            self._file = None
        self._tmp = None
        if self._log is not None:
            self._log.close()
            self._log = None


def id3_size(path: Path) -> int:
    """Bytes of the ID3v2 tag at the start of an MP3 file (0 if it has none)."""
    with open(path, "rb") as file:
        return tag_size(file.read(10))


MASTER_FORMATS = {  # suffix -> codec arguments and muxer
    ".wav": (["-c:a", "pcm_f32le"], "wav"),  # 32-bit float: bit for bit what the encoder gets
    ".flac": (["-c:a", "flac", "-sample_fmt", "s32"], "flac"),  # lossless at 24 bits
}


def master_path(given: Path | str) -> Path:
    """--master: a file name ending in one of MASTER_FORMATS."""
    path = Path(given)
    if path.suffix.lower() not in MASTER_FORMATS:
        raise EncodeError(
            f"--master {given}: give a file name ending in {' or '.join(MASTER_FORMATS)}"
        )
    return path


class MasterWriter(Mp3Writer):
    """The lossless master: the same PCM blocks the MP3 encoder gets, written as WAV (32-bit
    float, exact) or FLAC (24-bit), through the same temp-file-then-rename path."""

    def command(self, output: Path) -> list[str]:
        codec, muxer = MASTER_FORMATS[self.target.suffix.lower()]
        return [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            *pcm_input(self.rate_hz, self.channels), *codec, *self.tag_args(),
            "-f", muxer, str(output),
        ]  # fmt: skip

    def tag_args(self) -> list[str]:
        """pmr's mark as a comment too: WAV's INFO chunk keeps only the keys it knows."""
        return [*super().tag_args(), "-metadata", f"comment={mark()}"]
