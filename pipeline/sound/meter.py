"""An independent check of a finished file: ffmpeg's EBU R128 meter (ebur128 filter).

It decodes MP3 frames and reports integrated loudness (LUFS) and true peak (dBTP, 4x
oversampled), so the figures printed after a build are not the renderer's own prediction.

`MeteredMp3Writer` meters while it encodes: ffmpeg's tee muxer writes the same MP3 frames to
the output file and to a pipe, and a second ffmpeg decodes the pipe through ebur128 on the
other core. The meter reads exactly the frames the file holds (the file alone also gets the
rewritten Xing/LAME header), and the build needs no second pass over the finished file.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from ..encode import Mp3Output, Mp3Writer, ffmpeg_exe
from ..errors import EncodeError

_SUMMARY = re.compile(
    r"Integrated loudness:\s*I:\s*(?P<i>-?[\d.]+|-inf) LUFS.*True peak:\s*Peak:\s*"
    r"(?P<tp>-?[\d.]+|-inf) dBFS",
    re.S,
)
_METER = ["-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"]
_TEE_UNSAFE = set("|[]:\\'=;,")  # characters the tee muxer would read as syntax


@dataclass(frozen=True)
class Measured:
    lufs: float  # integrated loudness, LUFS
    true_peak_db: float  # dBTP


def measure_file(path: Path) -> Measured:
    """Run `ffmpeg -i FILE -af ebur128=peak=true -f null -` and read its summary."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-nostdin", "-i", str(path), *_METER],
        capture_output=True,
        text=True,
    )
    return _parse(result.stderr, result.returncode, path)


def _parse(log: str, code: int, path: Path) -> Measured:
    found = _SUMMARY.search(log)
    if code != 0 or found is None:
        tail = " / ".join(log.strip().splitlines()[-2:])
        raise EncodeError(f"{path}: ffmpeg could not measure its loudness: {tail or 'no output'}")
    return Measured(float(found["i"]), float(found["tp"]))


def _start_meter(stdin: int | IO[bytes] | None) -> tuple[subprocess.Popen, IO[str]]:
    """ffmpeg's ebur128 meter reading MP3 frames from `stdin`, its log in a temp file."""
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by _read_meter)
    try:
        proc = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-nostats", "-nostdin", "-f", "mp3",
             "-i", "pipe:0", *_METER],
            stdin=stdin, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    except OSError as exc:
        log.close()
        raise EncodeError(f"can't start ffmpeg's meter: {exc.strerror}") from None
    return proc, log


def _read_meter(proc: subprocess.Popen, log: IO[str], target: Path, ok: bool) -> Measured | None:
    """Wait for the meter; its figures when the encode went well (`ok`) and it could measure."""
    code = proc.wait()
    log.seek(0)
    text = log.read()
    log.close()
    if ok and code == 0:
        with contextlib.suppress(EncodeError):
            return _parse(text, code, target)
    return None


def can_tee(path: Path) -> bool:
    return not (set(str(path)) & _TEE_UNSAFE)


@dataclass(frozen=True)
class TeeToMeter(Mp3Output):
    """The encoded stream through ffmpeg's tee muxer: to the MP3 file and to stdout, where the
    meter reads it. The tee muxer passes no chapters on, so chapters, tags and cover are added
    after the encode by a stream-copy remux (`MeteredMp3Writer.complete`), which costs no
    decoding."""

    publishing: bool = False

    def muxer_args(self, output: Path) -> list[str]:
        return ["-f", "tee", f"[f=mp3:id3v2_version=3]{output}|[f=mp3]pipe:1"]


class MeteredMp3Writer(Mp3Writer):
    """An Mp3Writer whose encoder also feeds ffmpeg's ebur128 meter; `measured` is set when
    the block exits cleanly. Use only when `can_tee(target)`."""

    stdout = subprocess.PIPE
    measured: Measured | None = None

    output = TeeToMeter()

    def __enter__(self) -> MeteredMp3Writer:
        super().__enter__()
        assert self._proc is not None and self._proc.stdout is not None
        try:
            self._meter, self._meter_log = _start_meter(self._proc.stdout)
        except EncodeError as exc:
            self.__exit__(type(exc), exc, None)
            raise
        finally:
            self._proc.stdout.close()  # the meter holds the pipe; it sees EOF when ffmpeg ends
        return self

    def complete(self, tmp: Path) -> None:
        if self.metadata is None and self.cover is None:
            return
        remuxed = tmp.with_name(tmp.name + ".mux")
        try:
            self.remux(tmp, remuxed)
            os.replace(remuxed, tmp)
        finally:
            remuxed.unlink(missing_ok=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        meter = getattr(self, "_meter", None)
        try:
            super().__exit__(exc_type, exc, tb)
        except BaseException:
            if meter is not None and meter.poll() is None:
                meter.kill()
            raise
        finally:
            if meter is not None:
                if exc_type is not None and meter.poll() is None:
                    meter.kill()
                self.measured = _read_meter(meter, self._meter_log, self.target, exc_type is None)


class StreamMeter:
    """ffmpeg's ebur128 meter over MP3 frames given to `feed` as they are made (a chunked
    encode's joined frames); `measured` is set when the block exits cleanly."""

    measured: Measured | None = None

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> StreamMeter:
        self._proc, self._log = _start_meter(subprocess.PIPE)
        return self

    def feed(self, frames: bytes | memoryview) -> None:
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # a failed meter: measured stays None
            self._proc.stdin.write(frames)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):
            if exc_type is not None:
                self._proc.kill()
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        self.measured = _read_meter(self._proc, self._log, self.target, exc_type is None)
