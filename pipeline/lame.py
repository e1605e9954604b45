"""libmp3lame in this process: the chunks' MP3 encoder, with no pipe and no ffmpeg per chunk.

The library is the one the lameenc wheel carries (its extension module exports LAME's whole C
API); pmr calls it through ctypes, float blocks in as rendered, with the settings ffmpeg's
libmp3lame wrapper gives LAME for `-b:a`: constant bitrate, joint stereo for two channels,
LAME's default quality (3). ffmpeg runs LAME behind a demuxer, a PCM decoder, a filter graph
(float to planar float) and a muxer, a thread each (~10 % of its CPU in a perf profile), which
a build on every core pays in full; here a chunk worker renders a block and encodes it in the
same thread. On the first 5 minutes of a 20-min sleep session (128k CBR, reservoir off / on;
scripts/measure_encoders.py): 5.4 / 5.6 CPU s here against 7.1 / 7.3 s for ffmpeg, the same
level (-0.45 dB), and a better SNR against the source in 20 ms windows (1st percentile 17.4
against 12.7 dB, 10th 21.7 against 20.5, median 24.1 against 22.8, worst 10.2 against 5.3).
"""

from __future__ import annotations

import ctypes
import importlib.util
from functools import cache
from types import TracebackType

import numpy as np

from .errors import EncodeError

JOINT_STEREO, MONO = 1, 3  # LAME's MPEG_mode
CBR = 0  # LAME's vbr_off
# LAME's worst case for an output buffer: 1.25 x the frames + 7200 bytes
SLACK_BYTES = 7200


@cache
def library() -> ctypes.CDLL | None:
    """libmp3lame from the lameenc wheel, or None where it is missing or exports no LAME."""
    try:
        spec = importlib.util.find_spec("lameenc")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    try:
        lib = ctypes.CDLL(spec.origin)
        _declare(lib)
    except (OSError, AttributeError):
        return None
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    flags, int_, buf = ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p
    lib.lame_init.restype, lib.lame_init.argtypes = flags, []
    for name in ("num_channels", "in_samplerate", "out_samplerate", "mode", "VBR", "brate",
                 "bWriteVbrTag", "disable_reservoir"):  # fmt: skip
        setter = getattr(lib, f"lame_set_{name}")
        setter.restype, setter.argtypes = int_, [flags, int_]
    lib.lame_init_params.restype, lib.lame_init_params.argtypes = int_, [flags]
    interleaved = lib.lame_encode_buffer_interleaved_ieee_float
    interleaved.restype, interleaved.argtypes = int_, [flags, buf, int_, buf, int_]
    lib.lame_encode_buffer_ieee_float.restype = int_
    lib.lame_encode_buffer_ieee_float.argtypes = [flags, buf, buf, int_, buf, int_]
    lib.lame_encode_flush.restype, lib.lame_encode_flush.argtypes = int_, [flags, buf, int_]
    lib.lame_get_lametag_frame.restype = ctypes.c_size_t
    lib.lame_get_lametag_frame.argtypes = [flags, buf, ctypes.c_size_t]
    lib.lame_close.restype, lib.lame_close.argtypes = int_, [flags]


def available() -> bool:
    return library() is not None


def kbps(bitrate: str) -> int:
    """'128k' (a checked --bitrate) as LAME's kbit/s."""
    return int(bitrate.removesuffix("k"))


class LameEncoder:
    """One MP3 stream: `encode` (frames, channels) float32 blocks in [-1, 1], then `flush`.
    With `info_frame`, LAME's first frame is a Xing/LAME ('Info') frame, whose finished
    content `info_frame_bytes` gives after the flush (the caller writes it over the first)."""

    def __init__(
        self, rate_hz: int, channels: int, kbps: int, *, reservoir: bool, info_frame: bool
    ) -> None:
        lib = library()
        if lib is None:
            raise EncodeError("the in-process MP3 encoder is missing: pip install lameenc")
        self.lib, self.channels = lib, channels
        self.flags = lib.lame_init()
        if not self.flags:
            raise EncodeError("LAME could not start (out of memory)")
        settings = {
            "num_channels": channels, "in_samplerate": rate_hz, "out_samplerate": rate_hz,
            "mode": JOINT_STEREO if channels == 2 else MONO, "VBR": CBR, "brate": kbps,
            "bWriteVbrTag": int(info_frame), "disable_reservoir": int(not reservoir),
        }  # fmt: skip
        if any(getattr(lib, f"lame_set_{k}")(self.flags, v) < 0 for k, v in settings.items()) or (
            lib.lame_init_params(self.flags) < 0
        ):
            self.close()
            raise EncodeError(f"LAME refused {kbps}k at {rate_hz} Hz, {channels} channel(s)")
        self.out = ctypes.create_string_buffer(SLACK_BYTES)

    def _room(self, frames: int) -> int:
        need = frames * 5 // 4 + SLACK_BYTES
        if len(self.out) < need:
            self.out = ctypes.create_string_buffer(need)
        return len(self.out)

    def encode(self, block: np.ndarray) -> bytes:
        """The MP3 bytes LAME has ready after `block` (often a frame or so behind it)."""
        pcm = np.ascontiguousarray(block, dtype=np.float32)
        if pcm.ndim != 2 or pcm.shape[1] != self.channels:  # LAME would read past its end
            raise ValueError(f"LAME wants (frames, {self.channels}) blocks, got {pcm.shape}")
        frames, room = pcm.shape[0], self._room(pcm.shape[0])
        if self.channels == 2:
            size = self.lib.lame_encode_buffer_interleaved_ieee_float(
                self.flags, pcm.ctypes.data, frames, self.out, room
            )
        else:
            size = self.lib.lame_encode_buffer_ieee_float(
                self.flags, pcm.ctypes.data, None, frames, self.out, room
            )
        return self._bytes(size, "encoding")

    def flush(self) -> bytes:
        """The stream's last frames (LAME pads the end to a whole frame)."""
        return self._bytes(self.lib.lame_encode_flush(self.flags, self.out, self._room(0)), "flush")

    def info_frame_bytes(self) -> bytes:
        """The finished Xing/LAME frame (after `flush`), the size of the stream's first frame."""
        size = self.lib.lame_get_lametag_frame(self.flags, self.out, len(self.out))
        if not 0 < size <= len(self.out):
            raise EncodeError("LAME gave no Xing/LAME frame")
        return ctypes.string_at(self.out, size)

    def _bytes(self, size: int, doing: str) -> bytes:
        if size < 0:
            raise EncodeError(f"LAME failed ({doing}, error {size})")
        return ctypes.string_at(self.out, size)

    def close(self) -> None:
        if self.flags:
            self.lib.lame_close(self.flags)
            self.flags = None

    def __enter__(self) -> LameEncoder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
