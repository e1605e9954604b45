"""Background beds, generated block by block.

A bed is position-addressable: `block(start, n)` returns frames [start, start + n) as
(n, channels) float32 at an arbitrary but fixed level (the mixer calibrates it by loudness),
the same whatever was rendered before, in any order or process; `render(n)` is the next n
frames. Tones are computed from absolute frame positions. Noise is white noise drawn in fixed
chunks, each from a generator keyed by (seed, chunk index), coloured by FIR filters whose
state is the bounded history before the block (the kernel's length, redrawn from its chunks),
so the output is continuous across block edges, identical for a given seed, and no
session-long array exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import RenderError
from .audiofile import DecodeFailed, Decoding, load_segment, to_array, trim
from .filters import Biquad, FirBank, biquad, kernel

BACKGROUNDS = {
    "pad": "a slowly evolving soft chord (A major over three octaves, mono-safe)",
    "pink": "pink noise, soft and even, like steady rain",
    "brown": "brown noise, deep and warm, like a distant waterfall",
    "ocean": "slow waves: filtered noise swelling and ebbing every 8-12 s",
    "binaural-alpha": "binaural beat, 10 Hz (alpha) around 200 Hz; use headphones",
    "binaural-theta": "binaural beat, 6 Hz (theta) around 200 Hz; use headphones",
    "none": "silence between the words",
}
FILE_DESCRIPTION = "any audio file (mp3, wav, flac, ogg...): looped with a crossfade"
BINAURAL_BEATS_HZ = {"binaural-alpha": 10.0, "binaural-theta": 6.0}
BINAURAL_CARRIER_HZ = 200.0
LOOP_CROSSFADE_S = 2.0
MAX_FILE_S = 300.0  # a longer file is cut here: a 5-minute loop is long enough, memory stays small
MIN_FILE_S = 1.0
BROWN_KERNEL_S = 0.19  # its impulse response holds -109 dB of its energy past this
NOISE_CHUNK = 1 << 15  # frames of white noise drawn from one generator keyed by its index
WAVE_GRID = 64  # frames between the points of the ocean's slow envelope, interpolated between
FILE_SILENCE_DBFS = -70.0  # quieter than this at a file's ends is dead air, cut before looping


class Bed:
    """Frames [start, start + n) of a background on `block(start, n)`; the next `n` frames on
    each `render(n)` call."""

    channels: int
    position: int = 0

    def render(self, n: int) -> np.ndarray:
        out = self.block(self.position, n)
        self.position += n
        return out

    def block(self, start: int, n: int) -> np.ndarray:
        raise NotImplementedError


class Silence(Bed):
    def __init__(self, channels: int) -> None:
        self.channels = channels

    def block(self, start: int, n: int) -> np.ndarray:
        return np.zeros((n, self.channels), dtype=np.float32)


class _Clocked(Bed):
    """A bed of sines at absolute frame positions: exact phase for hours, same in any blocks.

    A block of a sine is a cached table of exp(i w k) for the block's length, turned by the
    phase at the block's first frame: one complex multiply per sample instead of a sin."""

    def __init__(self, rate_hz: int, channels: int) -> None:
        self.rate_hz, self.channels, self.position = rate_hz, channels, 0
        self._tables: dict[tuple[float, int], np.ndarray] = {}

    def block(self, start: int, n: int) -> np.ndarray:
        return _to_channels(self._stereo(start, n), self.channels)

    def _sine(self, freq_hz: float, phase: float, start: int, n: int) -> np.ndarray:
        """sin(2 pi f (start + k) / rate + phase) for k < n, float32."""
        return self._phasor(freq_hz, phase, start, n).imag

    def _phasor(self, freq_hz: float, phase: float, start: int, n: int) -> np.ndarray:
        """exp(i (2 pi f (start + k) / rate + phase)) for k < n, complex64."""
        table = self._tables.get((freq_hz, n))
        if table is None:
            k = np.arange(n, dtype=np.float64)
            table = np.exp(1j * (2 * np.pi * freq_hz / self.rate_hz) * k).astype(np.complex64)
            self._tables[(freq_hz, n)] = table
        turn = (freq_hz * start / self.rate_hz) % 1.0  # cycles at the first frame, exact
        rotation = np.complex64(np.exp(1j * (2 * np.pi * turn + phase)))
        return table * rotation

    def _stereo(self, start: int, n: int) -> np.ndarray:
        raise NotImplementedError


class Pad(_Clocked):
    """A soft A-major chord over three octaves, each partial swelling on its own slow cycle
    (16 to 40 s, slower than a breath) so the bed breathes instead of droning.

    Mono-safe: both ears play the same frequency, the right a fixed fraction of a cycle
    later (at most a quarter), so (L+R)/2 keeps a steady level on a phone or a mono speaker
    instead of beating to silence. Its upper partials (330-880 Hz) carry about a tenth of its
    energy, which is what a phone speaker can play; weights fall with height, so it stays a
    soft, dark chord under the voice."""

    PARTIALS = (  # Hz, weight, swell Hz, right ear's delay in cycles
        (110.0, 1.0, 0.050, 0.05),
        (164.81, 0.7, 0.037, 0.12),
        (220.0, 0.5, 0.061, 0.20),
        (277.18, 0.35, 0.043, 0.25),
        (329.63, 0.28, 0.029, 0.15),
        (440.0, 0.3, 0.033, 0.22),
        (554.37, 0.22, 0.047, 0.10),
        (659.26, 0.17, 0.026, 0.25),
        (880.0, 0.1, 0.039, 0.18),
    )

    def _stereo(self, start: int, n: int) -> np.ndarray:
        left = np.zeros(n, dtype=np.complex64)
        right = np.zeros(n, dtype=np.complex64)
        for index, (freq, weight, swell_hz, delay) in enumerate(self.PARTIALS):
            swell = self._sine(swell_hz, index, start, n)
            swell *= np.float32(0.4 * weight)
            swell += np.float32(0.6 * weight)
            tone = self._phasor(freq, index, start, n)
            tone *= swell
            left += tone
            # the right ear: the same tone `delay` cycles later (the phasor turned by it)
            right += tone * np.complex64(np.exp(2j * np.pi * delay))
        return np.stack([left.imag, right.imag], axis=1)


class Binaural(_Clocked):
    """Two sines, carrier -/+ beat/2 in the left/right ear: the brain hears the difference as a
    slow beat. Only meaningful in stereo on headphones."""

    def __init__(self, rate_hz: int, channels: int, beat_hz: float) -> None:
        super().__init__(rate_hz, channels)
        self.beat_hz = beat_hz

    def _stereo(self, start: int, n: int) -> np.ndarray:
        left = self._sine(BINAURAL_CARRIER_HZ - self.beat_hz / 2, 0.0, start, n)
        right = self._sine(BINAURAL_CARRIER_HZ + self.beat_hz / 2, 0.0, start, n)
        return np.stack([left, right], axis=1)


class _FilteredNoise(Bed):
    """Seeded white noise through FIR colouring filters, position-addressable: a block is the
    valid part of the convolution of the noise from `kernel - 1` frames before it to its end,
    so it needs no state from the block before and is continuous at every block edge.

    The white noise is uniform with unit variance (four times cheaper to draw than normal;
    after a colouring filter hundreds of taps long it is Gaussian all the same), drawn in
    NOISE_CHUNK frames from a generator keyed by (seed, chunk index). The last chunks drawn
    are kept: consecutive blocks share the history they overlap."""

    def __init__(self, rate_hz: int, channels: int, seed: int, kernels: list[np.ndarray]) -> None:
        self.rate_hz, self.channels, self.position = rate_hz, channels, 0
        self.seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        self.filter = FirBank(kernels)
        self._chunks: dict[int, np.ndarray] = {}

    def block(self, start: int, n: int) -> np.ndarray:
        history = self.filter.length - 1
        shaped = self._shape(self.filter(self._white(start - history, n + history)), start, n)
        return _to_channels(shaped.T, self.channels)

    def _shape(self, filtered: list[np.ndarray], start: int, n: int) -> np.ndarray:
        """(2, n) of the bed from the filters' (2, n) outputs."""
        return filtered[0]

    def _white(self, start: int, n: int) -> np.ndarray:
        """(2, n) float32 white noise at frames [start, start + n), any start (negative too)."""
        first, last = start // NOISE_CHUNK, (start + n - 1) // NOISE_CHUNK
        chunks = [self._chunk(index) for index in range(first, last + 1)]
        self._chunks = {i: self._chunks[i] for i in range(first, last + 1)}  # the rest goes
        joined = chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=1)
        offset = start - first * NOISE_CHUNK
        return joined[:, offset : offset + n]

    def _chunk(self, index: int) -> np.ndarray:
        chunk = self._chunks.get(index)
        if chunk is None:
            key = np.random.SeedSequence([self.seed, index + (1 << 62)])  # entropy is >= 0
            chunk = np.random.Generator(np.random.PCG64(key)).random(
                (2, NOISE_CHUNK), dtype=np.float32
            )
            chunk -= np.float32(0.5)
            chunk *= np.float32(math.sqrt(12.0))  # unit variance
            self._chunks[index] = chunk
        return chunk


@cache
def _pink(rate_hz: int) -> np.ndarray:
    """-3 dB/octave (Paul Kellet's 3-pole fit) plus a gentle 2nd-order low-pass at 6 kHz."""
    pink = (
        (0.049922035, -0.095993537, 0.050612699, -0.004408786),
        (1.0, -2.494956002, 2.017265875, -0.522189400),
    )
    soft = biquad("lowpass", 6000.0, 1 / math.sqrt(2), rate_hz)
    return kernel((pink, soft), round(0.2 * rate_hz))


def _brown_sections(rate_hz: int) -> tuple[Biquad, ...]:
    """-6 dB/octave: a leaky integrator (corner 10 Hz) after a 25 Hz high-pass (no rumble)."""
    leak = math.exp(-2 * math.pi * 10.0 / rate_hz)
    high = biquad("highpass", 25.0, 1 / math.sqrt(2), rate_hz)
    return (high, ((1.0 - leak,), (1.0, -leak)))


@cache
def _brown(rate_hz: int) -> np.ndarray:
    return kernel(_brown_sections(rate_hz), round(BROWN_KERNEL_S * rate_hz))


@cache
def _wash(rate_hz: int) -> np.ndarray:
    """Brown noise band-passed to 250-2500 Hz: the hiss of a breaking wave."""
    band = (
        biquad("highpass", 250.0, 1 / math.sqrt(2), rate_hz),
        biquad("lowpass", 2500.0, 1 / math.sqrt(2), rate_hz),
    )
    return kernel((*_brown_sections(rate_hz), *band), round(BROWN_KERNEL_S * rate_hz))


class Ocean(_FilteredNoise):
    """Waves: brown noise (the swell) plus a band-passed copy of the same noise (the wash)
    whose share follows a slow wave envelope, so the sound's colour opens and closes like
    surf. The envelope comes from absolute time, computed every WAVE_GRID frames (at absolute
    multiples of it) and interpolated between: it moves over seconds."""

    def __init__(self, rate_hz: int, channels: int, seed: int) -> None:
        super().__init__(rate_hz, channels, seed, [_brown(rate_hz), _wash(rate_hz)])

    def _shape(self, filtered: list[np.ndarray], start: int, n: int) -> np.ndarray:
        swell, washed = filtered
        first = start // WAVE_GRID
        cells = (start + n - 1) // WAVE_GRID - first + 1
        t = np.arange(first, first + cells + 1, dtype=np.float64) * (WAVE_GRID / self.rate_hz)
        phase = 2 * np.pi * t / 10.0 + 1.2 * np.sin(2 * np.pi * t / 47.0)  # 8-12 s per wave
        wave = ((1 - np.cos(phase)) / 2) ** 2
        crest = 0.35 + 0.65 * wave
        # the band-passed wash is ~10 dB below the swell before this gain
        offset = start - first * WAVE_GRID
        swell *= _between(0.6 + 0.4 * crest)[offset : offset + n]
        washed *= _between(3.0 * wave * crest)[offset : offset + n]
        swell += washed
        return swell


def _between(points: np.ndarray) -> np.ndarray:
    """float32 values every frame, linear between `points` WAVE_GRID frames apart."""
    ramp = np.arange(WAVE_GRID, dtype=np.float32) / np.float32(WAVE_GRID)
    low = points[:-1].astype(np.float32)
    step = np.diff(points).astype(np.float32)
    return (low[:, None] + step[:, None] * ramp).ravel()


class Looped(Bed):
    """A user's audio file, decoded once (at most MAX_FILE_S), played in a loop whose seam is an
    equal-power crossfade of the file's tail into its head."""

    def __init__(self, loop: np.ndarray, channels: int) -> None:
        self.loop, self.channels, self.position = loop, channels, 0

    def block(self, start: int, n: int) -> np.ndarray:
        index = (np.arange(start, start + n) % self.loop.shape[0]).astype(np.intp)
        return _to_channels(self.loop[index], self.channels)


@dataclass(frozen=True)
class BedSpec:
    """Which background, resolved: a built-in name or a decoded file."""

    name: str
    path: Path | None = None


def resolve(background: str) -> BedSpec:
    """A built-in name, or an existing audio file; anything else is a user error."""
    if background in BACKGROUNDS:
        return BedSpec(background)
    path = Path(background).expanduser()
    if path.is_file():
        return BedSpec(path.name, path)
    from ..errors import did_you_mean

    raise RenderError(
        f"unknown background {background!r}{did_you_mean(background, BACKGROUNDS)}; valid: "
        f"{', '.join(BACKGROUNDS)}, or the path of an audio file"
    )


def check_layout(spec: BedSpec, channels: int) -> None:
    if spec.name in BINAURAL_BEATS_HZ and spec.path is None and channels != 2:
        raise RenderError(
            f"background {spec.name} needs stereo (a different tone in each ear); "
            "drop --mono or pick another background"
        )


def check_background(background: str, channels: int = 2) -> BedSpec:
    """What every command accepts as a background: a built-in name or an audio file, in a
    layout it can play (binaural beats need stereo)."""
    spec = resolve(background)
    check_layout(spec, channels)
    return spec


def make_bed(spec: BedSpec, rate_hz: int, channels: int, seed: int = 0) -> Bed:
    """A fresh generator for `spec`, positioned at frame 0."""
    check_layout(spec, channels)
    if spec.name in BINAURAL_BEATS_HZ and spec.path is None:
        return Binaural(rate_hz, channels, BINAURAL_BEATS_HZ[spec.name])
    if spec.path is not None:
        return Looped(_file_loop(spec.path, rate_hz), channels)
    match spec.name:
        case "none":
            return Silence(channels)
        case "pad":
            return Pad(rate_hz, channels)
        case "pink":
            return _FilteredNoise(rate_hz, channels, seed, [_pink(rate_hz)])
        case "brown":
            return _FilteredNoise(rate_hz, channels, seed, [_brown(rate_hz)])
        case "ocean":
            return Ocean(rate_hz, channels, seed)
    raise RenderError(f"unknown background {spec.name!r}; valid: {', '.join(BACKGROUNDS)}")


def _file_loop(path: Path, rate_hz: int) -> np.ndarray:
    """Decode a file to stereo float32 at `rate_hz` (ffmpeg resamples), ready to loop."""
    audio = decode_file(path, rate_hz)
    if audio.shape[0] < MIN_FILE_S * rate_hz:
        raise RenderError(
            f"{path}: background audio is {audio.shape[0] / rate_hz:.2f} s long; "
            f"give a file of at least {MIN_FILE_S:g} s"
        )
    fade_s = min(LOOP_CROSSFADE_S, audio.shape[0] / rate_hz / 4)
    return crossfade_loop(audio, round(fade_s * rate_hz))


def crossfade_loop(audio: np.ndarray, fade: int) -> np.ndarray:
    """A loop of len(audio) - fade frames whose first `fade` frames blend the tail (out) into
    the head (in) with equal-power (sin/cos) curves: playing it end to start continues the file
    exactly where the tail left off, so the seam has no jump."""
    body = audio[: audio.shape[0] - fade].copy()
    ramp = (np.arange(fade) + 0.5) / fade * (np.pi / 2)
    fade_in, fade_out = np.sin(ramp)[:, None], np.cos(ramp)[:, None]
    body[:fade] = audio[:fade] * fade_in + audio[audio.shape[0] - fade :] * fade_out
    return body


def decode_file(path: Path, rate_hz: int) -> np.ndarray:
    """(frames, 2) float32 of an audio file (at most MAX_FILE_S), resampled, with silence at
    either end cut so the loop has no dead air at its seam."""
    why, segment = "", None
    try:
        segment = load_segment(path, Decoding(rate_hz, 2, max_s=MAX_FILE_S))
    except DecodeFailed as exc:
        why = exc.reason
    if segment is None or len(segment.raw_data) == 0:
        raise RenderError(
            f"{path}: can't decode this as audio ({why or 'no audio stream'}); "
            "give an audio file (mp3, wav, flac, ogg, m4a) or a name from `pmr backgrounds`"
        )
    return to_array(trim(segment, FILE_SILENCE_DBFS, 0.0))


def _to_channels(stereo: np.ndarray, channels: int) -> np.ndarray:
    """(n, 2) -> (n, channels) float32, C-contiguous (what the encoder's pipe takes as is)."""
    if channels == 1:
        return stereo.mean(axis=1, keepdims=True).astype(np.float32)
    return np.ascontiguousarray(stereo, dtype=np.float32)
