"""What pmr reads of an MP3's Layer III frames: their headers (size, samples), where each one
starts in a raw stream, the encoder delay its Xing/LAME ('Info') frame records, and the size
of the ID3v2 tag ahead of them.

The chunked join walks every frame of a chunk (`frame_spans`); the true-peak meter finds the
frame nearest a byte estimate (`frame_near`), so it can decode a stretch of a long file from
its first byte without ffmpeg seeking (which decodes from the seek table's 1 % point on).
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLES = {1: 1152, 2: 576}  # PCM frames per Layer III frame, by MPEG version (2: 2 and 2.5)
KBPS = {  # the header's bitrate index -> kbit/s
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
MPEG1_RATES_HZ = (44100, 48000, 32000)  # by the header's index; MPEG-2 halves, 2.5 quarters
DECODER_DELAY = 529  # PCM frames an MP3 decoder's synthesis filterbank adds (LAME's figure)


@dataclass(frozen=True)
class FrameHeader:
    version: int  # 1 (MPEG-1) or 2 (MPEG-2 and 2.5)
    rate_hz: int
    kbps: int
    padded: bool

    @property
    def samples(self) -> int:
        return SAMPLES[self.version]

    @property
    def mean_bytes(self) -> float:
        """Bytes per frame on average in a CBR stream (padding makes up the fraction)."""
        return self.samples // 8 * 1000 * self.kbps / self.rate_hz

    @property
    def size(self) -> int:
        return int(self.mean_bytes) + self.padded


def header(data: bytes | memoryview, at: int = 0) -> FrameHeader | None:
    """The Layer III frame header at byte `at`, or None if there is none."""
    if at + 4 > len(data) or data[at] != 0xFF or (data[at + 1] & 0xE6) != 0xE2:
        return None  # 11 sync bits, then Layer III ('01')
    version_bits, rate_index, rate_bits = (data[at + 1] >> 3) & 3, data[at + 2] >> 4, data[at + 2]
    if version_bits == 1 or rate_index in (0, 15) or (rate_bits >> 2) & 3 == 3:
        return None  # a reserved version, a free or bad bitrate, a reserved rate
    version = 1 if version_bits == 3 else 2
    divide = {3: 1, 2: 2, 0: 4}[version_bits]
    rate_hz = MPEG1_RATES_HZ[(rate_bits >> 2) & 3] // divide
    return FrameHeader(version, rate_hz, KBPS[version][rate_index], bool((rate_bits >> 1) & 1))


def frame_spans(stream: bytes) -> list[tuple[int, int]]:
    """(start, end) bytes of each Layer III frame of a raw CBR stream (no tags): the first
    header read whole, each next one held to the same version, layer, bitrate and rate (its
    first three bytes but the padding and private bits), its size from its padding bit. (A
    header per frame read whole took 60 ms of a 3-minute chunk's join; this takes 5.)"""
    from .errors import EncodeError

    first = header(stream)
    if first is None:
        raise EncodeError("chunked encode: no MPEG Layer III frame at byte 0")
    base, head1, head2 = int(first.mean_bytes), stream[1], stream[2] & 0xFC
    out, at, end = [], 0, len(stream)
    while at + 4 <= end:
        if stream[at] != 0xFF or stream[at + 1] != head1 or stream[at + 2] & 0xFC != head2:
            raise EncodeError(f"chunked encode: no MPEG Layer III frame at byte {at}")
        size = base + ((stream[at + 2] >> 1) & 1)
        out.append((at, at + size))
        at += size
    return out


def frame_near(data: bytes, estimate: int, like: FrameHeader) -> int | None:
    """The start of the frame nearest byte `estimate` of `data`: a header with `like`'s
    version, rate and bitrate that the next frame's header follows (so a byte of audio that
    happens to look like a header is not taken for one)."""
    reach = int(like.mean_bytes) + 1
    candidates = []
    for at in range(max(0, estimate - reach), min(len(data) - 4, estimate + reach) + 1):
        found = header(data, at)
        if found is None or (found.version, found.rate_hz, found.kbps) != (
            like.version,
            like.rate_hz,
            like.kbps,
        ):
            continue
        after = header(data, at + found.size)
        if after is not None and after.rate_hz == like.rate_hz:
            candidates.append(at)
    return min(candidates, key=lambda at: abs(at - estimate), default=None)


def tag_size(head: bytes | memoryview) -> int:
    """Bytes of the ID3v2 tag an MP3's first bytes (10 or more) begin (0 if none)."""
    if len(head) < 10 or bytes(head[:3]) != b"ID3":
        return 0
    footer = 10 if head[5] & 0x10 else 0
    return 10 + footer + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))


def info_offset(frame: bytes | bytearray) -> int | None:
    """Where the Xing/LAME ('Info' or 'Xing') block starts in a stream's first frame, if any."""
    return next((i for i in (36, 21, 13) if frame[i : i + 4] in (b"Info", b"Xing")), None)


def encoder_delay(frame: bytes | bytearray) -> int | None:
    """The encoder delay (PCM frames) the LAME tag of an Info frame records, if it has one."""
    at = info_offset(frame)
    if at is None or frame[at + 120 : at + 124] not in (b"LAME", b"Lavc", b"Lavf"):
        return None
    lame = at + 120
    return (frame[lame + 21] << 4) | (frame[lame + 22] >> 4)


LAME_TAG_BYTES = 156  # what a Xing/LAME frame holds after its header and side info


def holds_info_frame(kbps: int, rate_hz: int, channels: int) -> bool:
    """Whether a CBR MPEG-1 frame at `kbps` and `rate_hz` has room for a Xing/LAME frame: LAME
    writes none below that (56k and lower in stereo at 44.1 kHz), and a chunked stream has no
    other place for its length, encoder delay and padding."""
    side_info = 32 if channels == 2 else 17
    return 144_000 * kbps // rate_hz >= 4 + side_info + LAME_TAG_BYTES
