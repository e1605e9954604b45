"""Independent figures of any finished MP3: what a listener would hear, measured from the file.

Nothing here uses the build's own numbers: the file is decoded again by ffmpeg, loudness and
true peak come from ffmpeg's EBU R128 meter (ITU-R BS.1770), and voice is found by its energy
in the speech band (300-3400 Hz) in 10 ms frames. The transcript sidecar (NAME.vtt), when it
is beside the file, only says *which* words belong to which stretch of time: the speech rate
and the hold/relax gaps are then measured between voiced frames of the decoded audio.

Units: seconds, dB, LUFS, words per minute. Figures outside the preset's tolerance fail.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import EncodeError

RATE_HZ = 44_100  # decode rate: the MP3's own, so peaks and clipping are the file's
FRAME_S = 0.01  # voice-activity frames
BLOCK_S = 0.1  # mono fold-down blocks
SPEECH_BAND_HZ = (300.0, 3400.0)
VOICE_BELOW_PEAK_DB = 20.0  # a frame is voiced within this of the file's loud (p95) speech band
MIN_GAP_S = 0.15  # a silence inside a line shorter than this is between words, not a pause
CLIP_LEVEL = 0.999  # a decoded sample at or above this (absolute) is clipped
SENTENCE_END = re.compile(r"[.!?…][\"')\]]*(?:\s+|$)")

# preset -> (integrated LUFS, +- LU, true-peak ceiling dBTP); as the build's presets
PRESETS = {"podcast": (-16.0, 1.0, -1.0), "mono": (-19.0, 1.0, -1.0), "sleep": (-23.0, 1.0, -1.0)}
WPM_RANGE = (95.0, 140.0)  # calm routines 110-140, sleep 95-120: either passes here
MIN_SENTENCE_GAP_S = 0.6  # median, between the sentences of a line
# "Hold about 5 s", as heard: between voiced frames a hold measures its 5 s, plus the 0.08 s
# of silence each clip keeps at its ends, plus word edges softer than the voice threshold
# (measured 5.16-5.31 s on the built-in routines), so the range reaches further above 5 s.
HOLD_S, HOLD_RANGE_S = 5.0, (4.7, 5.5)
MIN_RELAX_S, RELAX_SLACK_S = 15.0, 0.3  # a relax may measure this much under its 15 s
MAX_VOICE_FREE_S = 30.0  # between the first and the last words
MAX_MONO_EXCESS_DB = 3.0  # the fold-down may swing this much more than one channel


@dataclass(frozen=True)
class Figure:
    """One measured figure with its tolerance; `ok` is None when nothing is required of it."""

    name: str
    value: float | None
    unit: str
    limit: str = ""
    ok: bool | None = None
    note: str = ""

    def __post_init__(self) -> None:  # a numpy comparison gives np.bool_: `is False` misses it
        object.__setattr__(self, "ok", None if self.ok is None else bool(self.ok))


@dataclass(frozen=True)
class Report:
    path: Path
    figures: tuple[Figure, ...]

    @property
    def ok(self) -> bool:
        return all(f.ok is not False for f in self.figures)

    def as_dict(self) -> dict:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "figures": {
                f.name: {"value": None if f.value is None else round(float(f.value), 3),
                         "unit": f.unit, "limit": f.limit,
                         "ok": None if f.ok is None else bool(f.ok), "note": f.note}
                for f in self.figures
            },
        }  # fmt: skip

    def table(self) -> str:
        rows = [("figure", "value", "limit", "")]
        for f in self.figures:
            value = "-" if f.value is None else f"{f.value:.2f} {f.unit}".strip()
            verdict = {True: "ok", False: "FAIL", None: ""}[f.ok]
            rows.append((f.name, value, f.limit, f"{verdict} {f.note}".strip()))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
                 for r in rows]  # fmt: skip
        return "\n".join(line.rstrip() for line in lines)


@dataclass(frozen=True)
class Frames:
    """Per-10 ms measurements of a decoded file (small: 6,000 rows a minute)."""

    speech_db: np.ndarray  # speech-band level of the channels' mean, dBFS
    block_db: np.ndarray  # (blocks, 3): 100 ms RMS of left, right and (L+R)/2, dBFS
    channels: int
    seconds: float
    clipped: int  # samples at or above CLIP_LEVEL

    def voiced(self) -> np.ndarray:
        loud = np.percentile(self.speech_db, 95) if self.speech_db.size else -120.0
        return self.speech_db > max(loud - VOICE_BELOW_PEAK_DB, -60.0)


@dataclass(frozen=True)
class Cue:
    id: str
    start_s: float
    end_s: float
    text: str


def decode_frames(path: Path) -> Frames:
    """Decode with ffmpeg to stereo float32 and measure it chunk by chunk (memory stays flat)."""
    from .encode import ffmpeg_exe

    command = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-nostdin", "-i", str(path),
               "-vn", "-f", "f32le", "-ac", "2", "-ar", str(RATE_HZ), "pipe:1"]  # fmt: skip
    probe = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True
    )
    channels = 1 if re.search(r"Audio:.*\bmono\b", probe.stderr) else 2
    frame = round(FRAME_S * RATE_HZ)
    chunk = frame * 100 * 10  # 10 s, a whole number of blocks
    speech, blocks, clipped, frames = [], [], 0, 0
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    while data := proc.stdout.read(chunk * 8):
        audio = np.frombuffer(data, dtype="<f4").reshape(-1, 2)
        frames += audio.shape[0]
        clipped += int(np.count_nonzero(np.abs(audio) >= CLIP_LEVEL))
        speech.append(_speech_band_db(audio.mean(axis=1), frame))
        blocks.append(_block_db(audio, frame * 10))
    errors = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.wait() != 0 or frames == 0:
        why = errors.strip().splitlines()
        raise EncodeError(
            f"{path}: can't decode it as audio ({why[-1] if why else 'no audio stream'}); "
            "give an MP3 (or any file ffmpeg reads)"
        )
    if channels == 1:
        clipped //= 2  # ffmpeg duplicated the one channel
    return Frames(
        np.concatenate(speech), np.concatenate(blocks), channels, frames / RATE_HZ, clipped
    )


def _speech_band_db(mono: np.ndarray, frame: int) -> np.ndarray:
    """Level of SPEECH_BAND_HZ in each whole frame, dBFS: the chunk band-passed by zeroing its
    spectrum outside the band (one FFT each way), then the mean square of each frame."""
    n = mono.size // frame
    if n == 0:
        return np.zeros(0)
    size = 1 << (mono.size - 1).bit_length()  # a power of two: pocketfft's fastest
    spectrum = np.fft.rfft(mono, size)
    freqs = np.fft.rfftfreq(size, 1 / RATE_HZ)
    spectrum[(freqs < SPEECH_BAND_HZ[0]) | (freqs > SPEECH_BAND_HZ[1])] = 0
    band = np.fft.irfft(spectrum, size)[: n * frame].reshape(n, frame)
    return 10 * np.log10(np.mean(band**2, axis=1) + 1e-14)


def _block_db(audio: np.ndarray, block: int) -> np.ndarray:
    n = audio.shape[0] // block
    if n == 0:
        return np.zeros((0, 3))
    x = audio[: n * block].reshape(n, block, 2)
    mid = (x[:, :, 0] + x[:, :, 1]) * np.float32(0.5)
    power = np.stack([np.einsum("ij,ij->i", x[:, :, c], x[:, :, c]) for c in (0, 1)]
                     + [np.einsum("ij,ij->i", mid, mid)], axis=1) / block  # fmt: skip
    return 10 * np.log10(power.astype(np.float64) + 1e-18)


def mono_swing(block_db: np.ndarray) -> tuple[float, float]:
    """(swing of (L+R)/2, swing of the channel that swings more), in dB: the spread between
    the 2nd and 98th percentiles of 100 ms block levels. A bed that cancels in mono
    swings far more in the fold-down than in either ear."""
    if block_db.shape[0] < 2:
        return 0.0, 0.0
    low, high = np.percentile(block_db, [2, 98], axis=0)
    spread = high - low
    return float(spread[2]), float(max(spread[0], spread[1]))


def read_vtt(path: Path) -> list[Cue]:
    """Cues of a WebVTT file: identifier, start, end, text (entities undone)."""
    cues: list[Cue] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        lines = [line.strip() for line in block.strip().splitlines()]
        at = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if at is None:
            continue
        start, end = (_seconds(t.split()[0]) for t in lines[at].split("-->"))
        text = " ".join(lines[at + 1 :])
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cues.append(Cue(lines[at - 1] if at else "", start, end, text))
    return cues


def _seconds(clock: str) -> float:
    parts = [float(p) for p in clock.strip().split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


@dataclass(frozen=True)
class Spoken:
    """Where a cue's words are: its first and last voiced frames, and the silences between."""

    cue: Cue
    first_s: float
    last_s: float
    gaps_s: tuple[float, ...]  # silences >= MIN_GAP_S inside the line, in order

    @property
    def words(self) -> int:
        return len(self.cue.text.split())

    def sentence_gaps(self) -> list[float]:
        """The longest inner silences, one per sentence boundary of the text."""
        ends = len(SENTENCE_END.findall(self.cue.text.strip()))
        boundaries = max(0, ends - 1) if self.cue.text.strip()[-1:] in ".!?…" else ends
        return sorted(self.gaps_s, reverse=True)[:boundaries]


def locate(cues: list[Cue], voiced: np.ndarray, margin_s: float = 0.3) -> list[Spoken]:
    """Each cue's voiced span, looked for within its transcript times (+- margin)."""
    out = []
    for cue in cues:
        lo = max(0, int((cue.start_s - margin_s) / FRAME_S))
        hi = min(voiced.size, int((cue.end_s + margin_s) / FRAME_S) + 1)
        on = np.flatnonzero(voiced[lo:hi])
        if on.size == 0:
            continue
        runs = np.diff(on) - 1  # unvoiced frames between voiced ones
        gaps = tuple(float(r * FRAME_S) for r in runs if r * FRAME_S >= MIN_GAP_S)
        out.append(Spoken(cue, (lo + on[0]) * FRAME_S, (lo + on[-1] + 1) * FRAME_S, gaps))
    return out


def speech_figures(spoken: list[Spoken]) -> list[Figure]:
    """Words per minute over line time, median sentence gap, hold and relax gaps."""
    line_s = sum(s.last_s - s.first_s for s in spoken)
    words = sum(s.words for s in spoken)
    wpm = 60 * words / line_s if line_s > 0 else None
    lo, hi = WPM_RANGE
    out = [Figure("speech rate", wpm, "wpm", f"{lo:g}-{hi:g}",
                  None if wpm is None else lo <= wpm <= hi, "over line time")]  # fmt: skip
    gaps = [g for s in spoken for g in s.sentence_gaps()]
    median = float(np.median(gaps)) if gaps else None
    out.append(Figure("sentence gap (median)", median, "s", f">= {MIN_SENTENCE_GAP_S:g}",
                      None if median is None else median >= MIN_SENTENCE_GAP_S,
                      f"{len(gaps)} gaps"))  # fmt: skip
    holds, relaxes = [], []
    for this, after in itertools.pairwise(spoken):
        kind = this.cue.id.split("#")[0].rsplit(".", 1)[-1]
        (holds if kind == "tense" else relaxes if kind == "release" else []).append(
            after.first_s - this.last_s
        )
    if holds:
        worst = max(holds, key=lambda h: abs(h - HOLD_S))
        low, high = HOLD_RANGE_S
        ok = all(low <= h <= high for h in holds)
        out.append(Figure("hold (worst)", worst, "s", f"{low:g}-{high:g}", ok,
                          f"{len(holds)} holds"))  # fmt: skip
    if relaxes:
        shortest = min(relaxes)
        out.append(Figure("relax (shortest)", shortest, "s", f">= {MIN_RELAX_S:g}",
                          shortest >= MIN_RELAX_S - RELAX_SLACK_S,
                          f"{len(relaxes)} relaxes"))  # fmt: skip
    return out


def longest_voice_free_s(voiced: np.ndarray) -> float:
    """The longest run without voice between the first and the last voiced frame."""
    on = np.flatnonzero(voiced)
    return float((np.diff(on).max() - 1) * FRAME_S) if on.size > 1 else 0.0


def quiet_blocks(frames: Frames, edge_s: float = 0.5) -> np.ndarray:
    """Rows of block_db in voice-free stretches, `edge_s` away from any voice, the first and
    last 10 s (fades) left out."""
    voiced = frames.voiced()
    per = round(BLOCK_S / FRAME_S)
    n = min(frames.block_db.shape[0], voiced.size // per)
    busy = voiced[: n * per].reshape(n, per).any(axis=1)
    reach = round(edge_s / BLOCK_S)
    near = np.convolve(busy.astype(float), np.ones(2 * reach + 1), mode="same") > 0
    keep = ~near
    edge = round(10 / BLOCK_S)
    keep[:edge], keep[max(edge, n - edge) :] = False, False
    rows = frames.block_db[:n][keep]
    return rows[rows[:, 2] > -70]  # digital silence has no swing to speak of


def check_file(path: Path, preset: str = "podcast", transcript: Path | None = None) -> Report:
    """Every figure of `path`; the transcript defaults to NAME.vtt beside it."""
    from .sound.meter import measure_file

    if preset not in PRESETS:
        raise EncodeError(f"--preset {preset!r}: valid: {', '.join(PRESETS)}")
    if not path.is_file():
        raise EncodeError(f"{path}: no such file; give the path of an MP3")
    frames = decode_frames(path)
    loud = measure_file(path)
    lufs, within, ceiling = PRESETS[preset]
    figures = [
        Figure("duration", frames.seconds, "s"),
        Figure("loudness", loud.lufs, "LUFS", f"{lufs:g} +- {within:g}",
               abs(loud.lufs - lufs) <= within, preset),
        Figure("true peak", loud.true_peak_db, "dBTP", f"<= {ceiling:g}",
               loud.true_peak_db <= ceiling),
        Figure("clipped samples", float(frames.clipped), "", "0", frames.clipped == 0),
    ]  # fmt: skip
    voiced = frames.voiced()
    gap = longest_voice_free_s(voiced)
    figures.append(Figure("longest voice-free", gap, "s", f"<= {MAX_VOICE_FREE_S:g}",
                          gap <= MAX_VOICE_FREE_S, "between first and last words"))  # fmt: skip
    figures.append(_mono_figure(frames))
    vtt = transcript or path.with_suffix(".vtt")
    if vtt.is_file():
        figures += speech_figures(locate(read_vtt(vtt), voiced))
    else:
        figures.append(Figure("speech rate", None, "wpm", note=f"needs a transcript ({vtt.name})"))
    return Report(path, tuple(figures))


def _mono_figure(frames: Frames) -> Figure:
    if frames.channels == 1:
        return Figure("mono fold-down", None, "dB", note="the file is mono")
    quiet = quiet_blocks(frames)
    if quiet.shape[0] < 20:
        return Figure("mono fold-down", None, "dB", note="no quiet stretch with a background")
    mono, channel = mono_swing(quiet)
    return Figure("mono fold-down", mono - channel, "dB", f"<= +{MAX_MONO_EXCESS_DB:g}",
                  mono - channel <= MAX_MONO_EXCESS_DB,
                  f"swing {mono:.1f} vs {channel:.1f} dB in one ear, quiet parts")  # fmt: skip
