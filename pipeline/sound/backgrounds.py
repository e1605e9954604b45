"""Background beds, generated block by block.

A bed is position-addressable: `block(start, n)` returns frames [start, start + n) as
(n, channels) float32 at an arbitrary but fixed level (the mixer calibrates it by loudness),
the same whatever was rendered before, in any order or process; `render(n)` is the next n
frames. Tones are computed from absolute frame positions, a block as one matrix product.
Noise is played from a seamless loop made once per process and seed (seeded white noise
circularly convolved with the colouring kernels, NOISE_LOOP_FRAMES long): a block is a slice
of it, identical for a given seed, and no session-long array exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from ..errors import RenderError
from .audiofile import DecodeFailed, Decoding, load_segment, to_array, trim
from .filters import Biquad, biquad, kernel
from .tones import Sine, SineBank, binaural_sines, pad_sines

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
LOOP_CROSSFADE_S = 2.0
MAX_FILE_S = 300.0  # a longer file is cut here: a 5-minute loop is long enough, memory stays small
MIN_FILE_S = 1.0
BROWN_KERNEL_S = 0.19  # its impulse response holds -109 dB of its energy past this
# A noise bed is a seamless loop of this many frames (95 s at 44.1 kHz), 16 MB per stream.
# Listeners tell cyclically repeated noise from fresh noise up to cycles of about 20 s, most of
# that ability lost between 5 and 10 s (Kaernbach 2004, "The memory of noise", Experimental
# Psychology 51(4)): a 95 s cycle, with the right ear 47 s away from the left, is far beyond it.
NOISE_LOOP_FRAMES = 1 << 22
NOISE_LOOPS_KEPT = 2  # (bed, rate, seed) loops kept per process: a batch doesn't hoard them
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


class Tones(Bed):
    """A bed of sines at absolute frame positions (a `tones.SineBank`)."""

    def __init__(self, rate_hz: int, channels: int, sines: list[Sine]) -> None:
        self.channels, self.position = channels, 0
        self.bank = SineBank(sines, rate_hz)

    def block(self, start: int, n: int) -> np.ndarray:
        return _to_channels(self.bank.block(start, n), self.channels)


class _LoopedNoise(Bed):
    """A noise bed played from its seamless loop (`noise_loops`): frames [start, start + n) of
    the left ear are the loop's frames from start (modulo its period), the right ear's half a
    period later (independent noise 47 s apart). A block is two slices."""

    def __init__(self, rate_hz: int, channels: int, seed: int, name: str) -> None:
        self.rate_hz, self.channels, self.position = rate_hz, channels, 0
        self.loops = noise_loops(name, rate_hz, seed & 0xFFFF_FFFF_FFFF_FFFF)

    def block(self, start: int, n: int) -> np.ndarray:
        half = NOISE_LOOP_FRAMES // 2
        ears = [(_cyclic(loop, start, n), _cyclic(loop, start + half, n)) for loop in self.loops]
        return _to_channels(np.stack(self._shape(ears, start, n), axis=1), self.channels)

    def _shape(self, streams: list[tuple], start: int, n: int) -> tuple[np.ndarray, ...]:
        """The (left, right) (n,) frames of the bed from each stream's (read-only) ears."""
        return streams[0]


def _cyclic(loop: np.ndarray, start: int, n: int) -> np.ndarray:
    """loop[(start + k) % period] for k < n: a view unless it wraps."""
    begin = start % loop.shape[0]
    if begin + n <= loop.shape[0]:
        return loop[begin : begin + n]
    return np.take(loop, np.arange(begin, begin + n), mode="wrap")


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


class Ocean(_LoopedNoise):
    """Waves: brown noise (the swell) plus a band-passed copy of the same noise (the wash)
    whose share follows a slow wave envelope, so the sound's colour opens and closes like
    surf. The envelope comes from absolute time, computed every WAVE_GRID frames (at absolute
    multiples of it) and interpolated between: it moves over seconds."""

    def __init__(self, rate_hz: int, channels: int, seed: int) -> None:
        super().__init__(rate_hz, channels, seed, "ocean")

    def _shape(self, streams: list[tuple], start: int, n: int) -> tuple[np.ndarray, ...]:
        swell, washed = streams
        first = start // WAVE_GRID
        cells = (start + n - 1) // WAVE_GRID - first + 1
        t = np.arange(first, first + cells + 1, dtype=np.float64) * (WAVE_GRID / self.rate_hz)
        phase = 2 * np.pi * t / 10.0 + 1.2 * np.sin(2 * np.pi * t / 47.0)  # 8-12 s per wave
        wave = ((1 - np.cos(phase)) / 2) ** 2
        crest = 0.35 + 0.65 * wave
        # the band-passed wash is ~10 dB below the swell before this gain
        offset = start - first * WAVE_GRID
        swell_gain = _between(0.6 + 0.4 * crest)[offset : offset + n]
        wash_gain = _between(3.0 * wave * crest)[offset : offset + n]
        ears = []
        for ear in (0, 1):
            mixed = swell[ear] * swell_gain
            mixed += washed[ear] * wash_gain
            ears.append(mixed)
        return tuple(ears)


NOISE_KERNELS = {"pink": (_pink,), "brown": (_brown,), "ocean": (_brown, _wash)}


@lru_cache(maxsize=NOISE_LOOPS_KEPT)
def noise_loops(name: str, rate_hz: int, seed: int) -> tuple[np.ndarray, ...]:
    """One period (NOISE_LOOP_FRAMES, mono float32, read-only) of each stream of a noise bed:
    seeded Gaussian white noise circularly convolved with each of the bed's colouring kernels
    (the product of their spectra), so the loop is exactly periodic and its end runs into its
    start without a seam. The white noise is drawn as its spectrum (independent complex
    Gaussians, what the FFT of white noise is), which saves a transform; it has unit variance
    in time, so a stream has the level of unit white noise through its kernel.

    Made once per (bed, rate, seed) in a process: `make_bed` builds it, so a parent that makes
    the bed before forking shares the loop with its workers, and a second bed of the same
    options reuses it."""
    bins = NOISE_LOOP_FRAMES // 2 + 1
    key = np.random.SeedSequence([seed, 1 << 61])  # not a key of any other stream
    draw = np.random.Generator(np.random.PCG64(key)).standard_normal(2 * bins, np.float32)
    draw *= np.float32(math.sqrt(NOISE_LOOP_FRAMES / 2))
    white = draw.view(np.complex64)
    white[0] = 0.0  # no DC offset (every kernel passes little there anyway)
    loops = []
    for make in NOISE_KERNELS[name]:  # in place: the transient peak is ~4x a loop
        spectrum = np.fft.rfft(make(rate_hz).astype(np.float32), NOISE_LOOP_FRAMES)
        spectrum *= white
        loop = np.fft.irfft(spectrum, NOISE_LOOP_FRAMES).astype(np.float32, copy=False)
        del spectrum
        loop.flags.writeable = False
        loops.append(loop)
    return tuple(loops)


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
        return Tones(rate_hz, channels, binaural_sines(BINAURAL_BEATS_HZ[spec.name]))
    if spec.path is not None:
        return Looped(_file_loop(spec.path, rate_hz), channels)
    match spec.name:
        case "none":
            return Silence(channels)
        case "pad":
            return Tones(rate_hz, channels, pad_sines())
        case "pink" | "brown":
            return _LoopedNoise(rate_hz, channels, seed, spec.name)
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
