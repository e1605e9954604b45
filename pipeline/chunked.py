"""One session rendered and MP3-encoded in N chunks at once, joined at frame boundaries.

Chunk k keeps MP3 frames [F_k, F_k+1). Its encoder (libmp3lame, CBR, bit reservoir off, so no
frame borrows bits from the one before; in the worker's own process, pipeline/lame.py, or an
ffmpeg of its own: `chunk_encoder`) starts PRE_ROLL frames before F_k and runs POST_ROLL
frames past F_k+1, so every kept frame is encoded from the same input around it as in one
pass; the pre-roll frames are dropped and the chunks' frames concatenated. The encoder needs
two frames of pre-roll: a kept frame's first granule reaches back 1105 frames (encoder delay)
plus 576 (the MDCT's overlap) plus the filterbank's 512 taps; one frame left it short, and a
join window measured 4.5 dB under the single pass's (tests/test_chunked.py). Without pre-roll
the join window loses ~17 dB of SNR, a click (scripts/measure_joins.py). The loudness meter
needs more: the 400 ms window ending with the chunk's first 100 ms step, and a step for its
K-weighting to settle, 0.5 s (sound/meter.py), from the start of the step the chunk's first
frame falls in: PRE_ROLL is 25 frames (0.65 s at 44.1 kHz; 48 kHz needs all 25).

Each chunk meters the PCM it renders for the 100 ms steps that end inside its kept frames, so
every step of the session is metered once, and the gating runs over all of them after the
join.

Chunk 0 is written with its Xing/LAME frame; the joined stream gets the whole stream's frame
count, byte count, seek table and end padding in it (and the tag's CRC), so the decoded
length is exact to the sample and players seek correctly. The ID3 tag (tags, chapters,
cover) is made by the same writer on a one-frame stub while the chunks encode
(Mp3Writer.tag_header) and written ahead of the frames: no remux copies the stream.

Chunks render their PCM with `Renderer` on the serial block grid (pipeline/render.py), so the
audio they encode is bit-identical to the serial render's.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import itertools
import multiprocessing
import os
import signal
import struct
import subprocess
import tempfile
from array import array
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from . import lame
from .encode import (
    error_tail,
    failure_text,
    ffmpeg_exe,
    pcm_bytes,
    pcm_input,
    scratch_failure_text,
    widen_pipe,
)
from .errors import EncodeError
from .files import atomic_path
from .fit import Timeline
from .mp3frames import MPEG1_RATES_HZ, SAMPLES, encoder_delay, frame_spans, info_offset
from .render import Renderer
from .sound.layers import SessionBed, block_spans
from .sound.meter import WARM_STEPS, WINDOW_STEPS, MeteredSteps, StepMeter, step_frames
from .sound.mix import MixScore
from .tuning import BLOCK_FRAMES

FRAME = SAMPLES[1]  # PCM frames per MPEG-1 Layer III frame (chunked encodes are MPEG-1)
# MP3 frames encoded before / after a chunk's kept frames: before, what the meter needs at
# the worst of the MPEG-1 rates (a kept frame can start a step less one sample in)
_METERED_BEFORE = WINDOW_STEPS + WARM_STEPS + 1  # steps
PRE_ROLL = max(2, *(-(-(_METERED_BEFORE * step_frames(r) - 1) // FRAME) for r in MPEG1_RATES_HZ))
POST_ROLL = 2
MIN_SPLIT_FRAMES = 2000  # ~52 s at 44.1 kHz: a session shorter than two of these is one chunk
MAX_CHUNK_FRAMES = 12_000  # ~5 min: the join reads one chunk's MP3 (~5 MB) at a time
TAIL_CHUNK_FRAMES = 500  # ~13 s: the smallest chunk (the last ones), ~0.15 CPU s to encode
SHARE = 2  # each chunk is 1 / (SHARE x workers) of the frames still unplanned


@dataclass(frozen=True)
class Chunk:
    index: int
    first: int  # first MP3 frame kept
    stop: int | None  # one past the last MP3 frame kept; None: to the encoder's end
    start: int  # first PCM frame encoded
    end: int  # one past the last PCM frame encoded

    @property
    def skip(self) -> int:
        """Encoded frames dropped at the start (the pre-roll)."""
        return self.first - self.start // FRAME

    def metered(self, total: int, rate_hz: int) -> tuple[int, int, int]:
        """(first step owned, first and end PCM frame metered): the chunk owns the 100 ms
        steps that end inside its kept frames, and meters from WINDOW_STEPS + WARM_STEPS
        steps before its first one (inside its pre-roll)."""
        step = step_frames(rate_hz)
        kept_end = total if self.stop is None else min(total, self.stop * FRAME)
        first_step = self.first * FRAME // step
        start = max(0, (first_step - WINDOW_STEPS - WARM_STEPS) * step) if self.index else 0
        if start < self.start:
            raise EncodeError(f"chunked encode: pre-roll too short to meter chunk {self.index}")
        return first_step, start, max(start, kept_end // step * step)


def plan_chunks(total: int, workers: int) -> list[Chunk]:
    """Chunks of whole MP3 frames over `total` PCM frames for `workers` taking them in turn,
    shrinking towards the end: each is 1/(SHARE x workers) of what is left, at most
    MAX_CHUNK_FRAMES (what the join holds stays flat) and at least TAIL_CHUNK_FRAMES (the
    last one takes what is left: under two of those). Equal chunks left one worker idle at
    the end for up to a third of a chunk (0.4-1.4 s in a 20-min build: a chunk's cost varies
    with its content); the last chunks now cost 0.15-0.3 CPU s each, so the workers end
    together. One chunk for one worker or a short session."""
    frames = -(-total // FRAME)
    sizes = [frames]
    if workers > 1 and frames >= 2 * MIN_SPLIT_FRAMES:
        sizes, left = [], frames
        while left:
            size = min(MAX_CHUNK_FRAMES, max(TAIL_CHUNK_FRAMES, -(-left // (SHARE * workers))))
            size = left if left - size < TAIL_CHUNK_FRAMES else size
            sizes.append(size)
            left -= size
    cuts = [0, *itertools.accumulate(sizes)]
    chunks = []
    for k in range(len(sizes)):
        last = k == len(sizes) - 1
        start = max(0, (cuts[k] - PRE_ROLL) * FRAME) if k else 0
        end = total if last else min(total, (cuts[k + 1] + POST_ROLL) * FRAME)
        chunks.append(Chunk(k, cuts[k], None if last else cuts[k + 1], start, end))
    return chunks


def chunk_command(rate_hz: int, channels: int, bitrate: str, xing: bool, out: Path) -> list[str]:
    return [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *pcm_input(rate_hz, channels),
        "-c:a", "libmp3lame", "-b:a", bitrate, "-reservoir", "0", "-ar", str(rate_hz),
        "-write_xing", str(int(xing)), "-id3v2_version", "0", "-f", "mp3", str(out),
    ]  # fmt: skip


@dataclass(frozen=True)
class EncodedChunk:
    """What a chunk job hands back: its MP3 stream, as a file the client can read (local
    workers) or as the bytes themselves (a cluster's workers, on another filesystem)."""

    index: int
    mp3: bytes | Path
    steps: MeteredSteps | None = None  # the loudness of the steps it owns, when metered


def encode_chunk(
    timeline: Timeline, score: MixScore, chunk: Chunk, bitrate: str, out: Path, target: Path,
    measure: bool = True, encoder: str = "lame",
) -> EncodedChunk:  # fmt: skip
    """Render the chunk's PCM (on the serial block grid) into its own `encoder` (one of
    CHUNK_ENCODERS), writing `out`, and meter the steps the chunk owns when `measure`; a
    failure names `target`, the MP3 it is for."""
    renderer = Renderer(timeline, score)
    first_step, lo_meter, hi_meter = chunk.metered(timeline.total, timeline.rate_hz)
    step = step_frames(timeline.rate_hz)
    meter = StepMeter(timeline.rate_hz, score.channels, lo_meter // step) if measure else None
    stream = lame_chunk if encoder == "lame" else ffmpeg_chunk
    with stream(timeline.rate_hz, score.channels, bitrate, chunk.index == 0, out, target) as put:
        for start, n in block_spans(timeline.total, BLOCK_FRAMES):
            lo, hi = max(start, chunk.start), min(start + n, chunk.end)
            if lo < hi:
                block = renderer.block(start, n)[lo - start : hi - start]
                put(block)
                a, b = max(lo, lo_meter), min(hi, hi_meter)
                if meter and a < b:
                    meter.add(block[a - lo : b - lo])
    if meter is None:
        return EncodedChunk(chunk.index, out)
    steps = meter.steps()
    owned = first_step - steps.first
    metered = MeteredSteps(first_step, steps.momentary[owned:], steps.peaks[owned:])
    return EncodedChunk(chunk.index, out, metered)


CHUNK_ENCODERS = ("lame", "ffmpeg")  # $PMR_CHUNK_ENCODER; the first that is there by default


def chunk_encoder() -> str:
    """Which encoder a session's chunks use, decided once by the client: LAME in the worker's
    own process (pipeline/lame.py) where the lameenc wheel provides it, else an ffmpeg per
    chunk; $PMR_CHUNK_ENCODER picks one (the bench measures both)."""
    chosen = os.environ.get("PMR_CHUNK_ENCODER", "")
    if chosen and chosen not in CHUNK_ENCODERS:
        raise EncodeError(f"PMR_CHUNK_ENCODER={chosen!r}: give one of {', '.join(CHUNK_ENCODERS)}")
    if chosen == "lame" and not lame.available():
        raise EncodeError("PMR_CHUNK_ENCODER=lame: the lameenc package is missing or has no LAME")
    return chosen or ("lame" if lame.available() else "ffmpeg")


@contextlib.contextmanager
def lame_chunk(
    rate_hz: int, channels: int, bitrate: str, info_frame: bool, out: Path, target: Path
) -> Iterator[Callable[[np.ndarray], None]]:
    """A chunk's stream from LAME in this process into `out` (CBR, reservoir off; chunk 0
    with its Xing/LAME frame, written over LAME's placeholder once the stream is flushed):
    the body puts blocks. A failed write is a clear error naming the scratch folder."""

    def write(data: bytes, at: int | None = None) -> None:
        try:
            if at is not None:
                file.seek(at)
            file.write(data)
        except OSError as exc:
            raise EncodeError(scratch_failure_text(target, out.parent, exc)) from None

    try:
        file = open(out, "wb")  # noqa: SIM115
    except OSError as exc:
        raise EncodeError(scratch_failure_text(target, out.parent, exc)) from None
    with (
        file,
        lame.LameEncoder(
            rate_hz, channels, lame.kbps(bitrate), reservoir=False, info_frame=info_frame
        ) as encoder,
    ):
        yield lambda block: write(encoder.encode(block))
        write(encoder.flush())
        if info_frame:
            write(encoder.info_frame_bytes(), at=0)


@contextlib.contextmanager
def ffmpeg_chunk(
    rate_hz: int, channels: int, bitrate: str, xing: bool, out: Path, target: Path
) -> Iterator[Callable[[np.ndarray], None]]:
    """A chunk's stream from an ffmpeg of its own (`chunk_command`), piped the blocks put."""
    command = chunk_command(rate_hz, channels, bitrate, xing, out)
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors)
        assert proc.stdin is not None
        widen_pipe(proc.stdin)
        stdin = proc.stdin
        try:
            yield lambda block: stdin.write(pcm_bytes(block))
            stdin.close()
        except BrokenPipeError:
            pass
        if (code := proc.wait()) != 0:
            errors.seek(0)
            raise EncodeError(failure_text(target, code, error_tail(errors.read())))


def encode_chunk_bytes(
    timeline: Timeline, score: MixScore, chunk: Chunk, bitrate: str, target: Path,
    measure: bool = True, encoder: str = "lame",
) -> EncodedChunk:  # fmt: skip
    """`encode_chunk` through a scratch folder of this process's own, the MP3 returned as
    bytes (for a worker that shares no filesystem with the join)."""
    with tempfile.TemporaryDirectory(prefix="pmr-chunk-") as folder:
        out = Path(folder) / f"chunk-{chunk.index}.mp3"
        encoded = encode_chunk(timeline, score, chunk, bitrate, out, target, measure, encoder)
        return dataclasses.replace(encoded, mp3=out.read_bytes())


class Joiner:
    """The finished MP3 written chunk by chunk as chunks finish (in order, one in memory at a
    time): the ID3 tag, chunk 0's Xing/LAME frame, then each chunk's kept frames; at `close`
    the Xing/LAME frame is completed for the whole stream (count, bytes, seek table, padding)
    over its placeholder."""

    def __init__(self, out: Path, total: int, tag: bytes) -> None:
        self.file, self.total = open(out, "wb"), total  # noqa: SIM115
        self.file.write(tag)
        self.tag_bytes = len(tag)
        self.head: bytearray | None = None
        self.count = self.size = 0
        self.offsets = array("Q")  # each kept frame's first byte, from the Xing/LAME frame's

    def add(self, chunk: Chunk, encoded: EncodedChunk) -> None:
        assert encoded.index == chunk.index
        path = encoded.mp3 if isinstance(encoded.mp3, Path) else None
        stream = encoded.mp3 if path is None else path.read_bytes()
        spans = frame_spans(stream)
        if chunk.index == 0:
            self.head, spans = bytearray(stream[slice(*spans[0])]), spans[1:]
            self.file.write(self.head)
        spans = spans[chunk.skip :]
        if chunk.stop is not None:
            spans = spans[: chunk.stop - chunk.first]
        if spans:  # the kept frames are one stretch of the chunk's bytes: no copy
            kept = memoryview(stream)[spans[0][0] : spans[-1][1]]
            assert self.head is not None
            base = len(self.head) + self.size - spans[0][0]
            self.offsets.extend(start + base for start, _ in spans)
            self.file.write(kept)
            self.count, self.size = self.count + len(spans), self.size + len(kept)
        if path is not None:
            path.unlink()

    def close(self) -> None:
        with self.file:
            assert self.head is not None
            fix_info_frame(self.head, self.count, self.size, self.total, self.offsets)
            self.file.seek(self.tag_bytes)
            self.file.write(self.head)


def fix_info_frame(
    head: bytearray, count: int, audio_bytes: int, total: int, offsets: Sequence[int] = ()
) -> None:
    """Frame count, bytes, seek table (from each audio frame's byte offset), end padding and
    tag CRC of a Xing/LAME ('Info') frame."""
    at, delay = info_offset(head), encoder_delay(head)
    if at is None or delay is None:
        raise EncodeError("chunked encode: chunk 0 has no Xing/LAME frame to complete")
    struct.pack_into(">II", head, at + 8, count, audio_bytes + len(head))
    if offsets and head[at + 7] & 0x04:  # the TOC: where each 1 % of the duration starts,
        size = audio_bytes + len(head)  # in 256ths of the stream's bytes
        toc = [min(255, 256 * offsets[i * count // 100] // size) for i in range(100)]
        head[at + 16 : at + 116] = bytes([0, *toc[1:]])
    lame = at + 120
    padding = count * FRAME - delay - total
    if not 0 <= padding < 4096:
        raise EncodeError(f"chunked encode: end padding {padding} out of range")
    head[lame + 21 : lame + 24] = ((delay << 12) | padding).to_bytes(3, "big")
    struct.pack_into(">I", head, lame + 28, audio_bytes + len(head))
    struct.pack_into(">H", head, lame + 34, crc16(bytes(head[: lame + 34])))


def crc16(data: bytes) -> int:
    """CRC-16/ARC (polynomial 0x8005, reflected), the LAME tag's own checksum."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


_PR_SET_PDEATHSIG = 1  # prctl(2)
_SESSION: tuple[Timeline, MixScore] | None = None  # what forked workers render (shared pages)


def _worker_signals() -> None:
    """A forked worker ends on the parent's word (SIGTERM, from `_terminate_workers`), quietly,
    or when the parent dies (even by SIGKILL); Ctrl-C is the parent's to handle (it
    terminates the workers), not the boundary's it inherited. An ffmpeg encoder of its own
    then sees its input end."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):  # Linux: end with the parent, even
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # killed


def _encode_forked(
    chunk: Chunk, bitrate: str, out: Path, target: Path, measure: bool, encoder: str
) -> EncodedChunk:
    assert _SESSION is not None
    return encode_chunk(*_SESSION, chunk, bitrate, out, target, measure, encoder)


@dataclass(frozen=True)
class ChunkWork:
    """One session's chunks, for an executor to encode (each with `encode_chunk`)."""

    timeline: Timeline
    score: MixScore
    chunks: tuple[Chunk, ...]
    bitrate: str
    target: Path  # the MP3 they are for, named in a failure
    measure: bool  # the chunks meter the steps they own
    folder: Path  # the client's scratch folder
    encoder: str = "lame"  # one of CHUNK_ENCODERS (`chunk_encoder`), the same for every chunk


class ChunkExecutor(Protocol):
    """Encodes `work.chunks`, `jobs` at a time: `start` submits them all and gives their
    results in chunk order; leaving its context early stops what still runs."""

    jobs: int

    def start(
        self, work: ChunkWork
    ) -> contextlib.AbstractContextManager[Iterator[EncodedChunk]]: ...


@dataclass(frozen=True)
class Forked:
    """Chunks on `jobs` processes forked from this one: the plan, the narration and the bed's
    noise loop (made once here, before the fork) are shared with them page for page, not
    copied; leaving terminates them (an ffmpeg encoder then sees its input end). A worker
    that dies (killed, or crashed in the encoder) is a clear error, not a wait for a result
    that never comes. Chunk files go in the client's scratch folder."""

    jobs: int

    @contextlib.contextmanager
    def start(self, work: ChunkWork) -> Iterator[Iterator[EncodedChunk]]:
        global _SESSION
        _SESSION = (work.timeline, work.score)
        SessionBed(work.timeline, work.score)  # makes the bed's noise loop once, to share
        ffmpeg_exe()  # and finds ffmpeg once (imageio-ffmpeg runs `-version` to check it)
        if work.encoder == "lame":
            lame.library()  # and loads LAME once, before the fork
        pool = ProcessPoolExecutor(
            min(self.jobs, len(work.chunks)), multiprocessing.get_context("fork"), _worker_signals
        )
        try:
            futures = [
                pool.submit(_encode_forked, c, work.bitrate, work.folder / f"chunk-{c.index}.mp3",
                            work.target, work.measure, work.encoder)
                for c in work.chunks
            ]  # fmt: skip
            yield (_result(future, work.target) for future in futures)
        finally:
            _SESSION = None
            _terminate_workers(pool)


def _result(future: Future[EncodedChunk], target: Path) -> EncodedChunk:
    try:
        return future.result()
    except BrokenProcessPool:
        raise EncodeError(
            f"a chunk worker died (killed, or out of memory) while encoding {target}; "
            "build again, or with --jobs 1"
        ) from None


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """SIGTERM to the pool's workers, then wait for them (KILL after 5 s): leaving `start`
    leaves no worker behind, nor one still writing into the scratch folder. (Python 3.14's
    `terminate_workers` gives up the executor's own wait, so the processes are taken here.)"""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()


def encode_session(
    target: Path,
    bitrate: str,
    tag_header: Callable[[Path], bytes],
    timeline: Timeline,
    score: MixScore,
    executor: ChunkExecutor,
    on_progress: Callable[[str, int, int], None] | None = None,
    measure: bool = True,
) -> list[MeteredSteps]:
    """Encode the session in chunks on `executor` into `target` (the ID3 tag `tag_header`
    makes in a scratch folder, then the joined frames, into a temp file renamed into place as
    a serial encode's); the steps its encoders metered, in order (none unless `measure`).
    The tag is made once the chunks have started, so what it needs (tags, cover) costs no
    time before them. The chunks (shrinking towards the end: `plan_chunks`) are joined as
    they finish, in order; any failure or interruption leaves the executor's context, which
    stops its workers."""
    chunks = plan_chunks(timeline.total, executor.jobs)
    with (
        tempfile.TemporaryDirectory(prefix="pmr-chunks-") as folder,
        atomic_path(target) as final,
    ):
        metered: list[MeteredSteps] = []
        work = ChunkWork(timeline, score, tuple(chunks), bitrate, target, measure, Path(folder),
                         chunk_encoder())  # fmt: skip
        joiner: Joiner | None = None
        try:
            with executor.start(work) as results:
                # the tag is made while the first chunks encode
                joiner = Joiner(final, timeline.total, tag_header(Path(folder)))
                for chunk, encoded in zip(chunks, results, strict=True):
                    joiner.add(chunk, encoded)
                    if encoded.steps is not None:
                        metered.append(encoded.steps)
                    if on_progress:
                        on_progress("rendering", min(chunk.end, timeline.total), timeline.total)
        except BaseException:
            if joiner is not None:
                joiner.file.close()
            raise
        joiner.close()
    return metered
