"""Background beds, generated block by block.

A bed is a stateful generator: `render(n)` returns the next n frames as (n, channels) float32
at an arbitrary but fixed level (the mixer calibrates it by loudness). Tones are computed from
absolute frame positions; noise comes from one seeded random stream and is coloured by
filters whose convolution tail is carried from block to block, so the output is continuous
across block edges, identical for a given seed, and no session-long array exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import RenderError
from .audiofile import DecodeFailed, Decoding, load_segment, to_array, trim
from .filters import Biquad, OverlapAdd, biquad, kernel

BACKGROUNDS = {
    "pad": "a slowly evolving soft chord (A major, detuned partials, gentle low-pass)",
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
FILE_SILENCE_DBFS = -70.0  # quieter than this at a file's ends is dead air, cut before looping


class Bed:
    """The next `n` frames of a background on each `render(n)` call."""

    channels: int

    def render(self, n: int) -> np.ndarray:
        raise NotImplementedError


class Silence(Bed):
    def __init__(self, channels: int) -> None:
        self.channels = channels

    def render(self, n: int) -> np.ndarray:
        return np.zeros((n, self.channels), dtype=np.float32)


class _Clocked(Bed):
    """A bed of sines at absolute frame positions: exact phase for hours, same in any blocks.

    A block of a sine is a cached table of exp(i w k) for the block's length, turned by the
    phase at the block's first frame: one complex multiply per sample instead of a sin."""

    def __init__(self, rate_hz: int, channels: int) -> None:
        self.rate_hz, self.channels, self.position = rate_hz, channels, 0
        self._tables: dict[tuple[float, int], np.ndarray] = {}

    def render(self, n: int) -> np.ndarray:
        stereo = self._stereo(self.position, n)
        self.position += n
        return _to_channels(stereo, self.channels)

    def _sine(self, freq_hz: float, phase: float, start: int, n: int) -> np.ndarray:
        """sin(2 pi f (start + k) / rate + phase) for k < n, float32."""
        table = self._tables.get((freq_hz, n))
        if table is None:
            k = np.arange(n, dtype=np.float64)
            table = np.exp(1j * (2 * np.pi * freq_hz / self.rate_hz) * k).astype(np.complex64)
            self._tables[(freq_hz, n)] = table
        turn = (freq_hz * start / self.rate_hz) % 1.0  # cycles at the first frame, exact
        rotation = np.complex64(np.exp(1j * (2 * np.pi * turn + phase)))
        return (table * rotation).imag

    def _stereo(self, start: int, n: int) -> np.ndarray:
        raise NotImplementedError


class Pad(_Clocked):
    """A soft A-major chord: partials slightly detuned between the ears, each swelling on its
    own slow cycle so the bed breathes instead of droning; upper partials kept quiet (the
    'low-pass')."""

    PARTIALS = (  # Hz, weight, swell Hz
        (110.0, 1.0, 0.050),
        (164.81, 0.7, 0.037),
        (220.0, 0.5, 0.061),
        (277.18, 0.35, 0.043),
        (329.63, 0.25, 0.029),
    )

    def _stereo(self, start: int, n: int) -> np.ndarray:
        out = np.zeros((n, 2), dtype=np.float32)
        for index, (freq, weight, swell_hz) in enumerate(self.PARTIALS):
            swell = 0.6 + 0.4 * self._sine(swell_hz, index, start, n)
            for channel, detune in enumerate((-0.15, 0.15)):
                out[:, channel] += weight * swell * self._sine(freq + detune, index, start, n)
        return out


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
    """Seeded white noise through an FIR colouring filter applied by overlap-add, whose tail
    carries over between blocks (see filters.py): continuous at every block edge."""

    def __init__(self, rate_hz: int, channels: int, seed: int, colour: np.ndarray) -> None:
        self.rate_hz, self.channels = rate_hz, channels
        self.rng = np.random.default_rng(seed)
        self.filter = OverlapAdd([colour], 2)
        self.position = 0
        self._warm_up()

    def _warm_up(self) -> None:
        """Run the filter for a second so the first block is already steady noise."""
        self._noise(self.rate_hz)

    def _noise(self, n: int) -> np.ndarray:
        return self.filter(self.rng.standard_normal((n, 2), dtype=np.float32))[0]

    def render(self, n: int) -> np.ndarray:
        t = np.arange(self.position, self.position + n, dtype=np.int64) / self.rate_hz
        self.position += n
        return _to_channels(self._shape(self._noise(n), t), self.channels)

    def _shape(self, noise: np.ndarray, t: np.ndarray) -> np.ndarray:
        return noise


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
    return kernel(_brown_sections(rate_hz), round(0.25 * rate_hz))


@cache
def _wash(rate_hz: int) -> np.ndarray:
    """Brown noise band-passed to 250-2500 Hz: the hiss of a breaking wave."""
    band = (
        biquad("highpass", 250.0, 1 / math.sqrt(2), rate_hz),
        biquad("lowpass", 2500.0, 1 / math.sqrt(2), rate_hz),
    )
    return kernel((*_brown_sections(rate_hz), *band), round(0.25 * rate_hz))


class Ocean(_FilteredNoise):
    """Waves: brown noise (the swell) plus a band-passed copy of the same noise (the wash)
    whose share follows a slow wave envelope, so the sound's colour opens and closes like
    surf. The envelope comes from absolute time; both filters carry their tails."""

    def __init__(self, rate_hz: int, channels: int, seed: int) -> None:
        self.rate_hz, self.channels = rate_hz, channels
        self.rng = np.random.default_rng(seed)
        self.filter = OverlapAdd([_brown(rate_hz), _wash(rate_hz)], 2)
        self.position = 0
        self._warm_up()

    def _noise(self, n: int) -> np.ndarray:
        swell, self._washed = self.filter(self.rng.standard_normal((n, 2), dtype=np.float32))
        return swell

    def _shape(self, noise: np.ndarray, t: np.ndarray) -> np.ndarray:
        phase = 2 * np.pi * t / 10.0 + 1.2 * np.sin(2 * np.pi * t / 47.0)  # 8-12 s per wave
        wave = ((1 - np.cos(phase)) / 2) ** 2
        crest = 0.35 + 0.65 * wave
        # the band-passed wash is ~10 dB below the swell before this gain
        return (0.6 + 0.4 * crest)[:, None] * noise + (3.0 * wave * crest)[:, None] * self._washed


class Looped(Bed):
    """A user's audio file, decoded once (at most MAX_FILE_S), played in a loop whose seam is an
    equal-power crossfade of the file's tail into its head."""

    def __init__(self, loop: np.ndarray, channels: int) -> None:
        self.loop, self.channels, self.position = loop, channels, 0

    def render(self, n: int) -> np.ndarray:
        index = (np.arange(self.position, self.position + n) % self.loop.shape[0]).astype(np.intp)
        self.position += n
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
            return _FilteredNoise(rate_hz, channels, seed, _pink(rate_hz))
        case "brown":
            return _FilteredNoise(rate_hz, channels, seed, _brown(rate_hz))
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
    if channels == 1:
        return stereo.mean(axis=1, keepdims=True).astype(np.float32)
    return stereo.astype(np.float32)
