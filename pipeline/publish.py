"""MP3 + Timeline -> what players and podcast apps read: ID3v2.3 tags, chapters, cover art,
transcripts (WebVTT, SRT), Podcasting 2.0 JSON chapters and a manifest entry.

Pure text builders (`ffmetadata`, `webvtt`, `srt`, `json_chapters`) take the Timeline in
frames and only turn frames into seconds here, at the edge. Effects (cover art, the temp
ffmetadata file, sidecars) are written beside the target through temp file + atomic rename.
Specs followed: ID3v2.3 (id3.org/id3v2.3.0), ID3v2 Chapter Frame Addendum 1.0 (CHAP, CTOC),
W3C WebVTT, SubRip, Podcasting 2.0 JSON chapters 1.2.0.
"""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from .encode import _UMASK
from .errors import PublishError
from .fit import Timeline
from .narration import Clips
from .sound.meter import Measured
from .template import Script
from .tuning import COVER_FORMATS, COVER_PX

DEFAULT_SERIES = "pmr sessions"
GENRE = "Meditation"
MANIFEST_SUFFIX = ".manifest.json"
# ISO 639-2 codes for TLAN (ID3v2.3 wants three letters); unknown codes pass through.
_TWO = "en de fr es it nl pt sv da no fi pl ru ja zh ko tr cs"
_THREE = "eng deu fra spa ita nld por swe dan nor fin pol rus jpn zho kor tur ces"
ISO_639_2 = dict(zip(_TWO.split(), _THREE.split(), strict=True))


@dataclass(frozen=True)
class EpisodeInfo:
    """Where a session sits in a series and what a player shows for it; all optional."""

    series: str = DEFAULT_SERIES  # ID3 album, feed and playlist grouping
    title: str | None = None  # default: "<routine title> (<N> min)"
    description: str | None = None  # default: the routine's description
    artist: str | None = None  # default: "pmr (<voice>)"
    track: int | None = None
    track_total: int | None = None
    pub_date: datetime | None = None  # feed pubDate; default: build time
    cover: Path | None = None  # a JPEG/PNG; default: one drawn for the routine
    extra: dict[str, object] = field(default_factory=dict, compare=False)  # manifest extras


@dataclass(frozen=True)
class Caption:
    """One transcript cue: a spoken line placed in frames."""

    id: str
    start: int
    end: int
    text: str
    line_id: str = ""  # the Script line it speaks (`id` differs for a repeated round)


def captions(script: Script, timeline: Timeline) -> tuple[Caption, ...]:
    """The spoken lines with their text, in timeline order. A line spoken again (a repeated
    round) gets the id 'line-id#2', as WebVTT cue identifiers must be unique."""
    text = {line.id: line.text for line in script.lines()}
    seen: dict[str, int] = {}
    out = []
    for event in timeline.of_kind("line"):
        seen[event.ref] = seen.get(event.ref, 0) + 1
        cue_id = event.ref if seen[event.ref] == 1 else f"{event.ref}#{seen[event.ref]}"
        out.append(Caption(cue_id, event.start, event.end, text[event.ref], event.ref))
    return tuple(out)


def episode_title(script: Script, timeline: Timeline, episode: EpisodeInfo) -> str:
    return episode.title or f"{script.title} ({round(timeline.seconds / 60, 1):g} min)"


def _clock(frames: int, rate_hz: int, decimal: str) -> str:
    ms = round(frames * 1000 / rate_hz)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal}{millis:03d}"


def webvtt(cue_list: tuple[Caption, ...], rate_hz: int) -> str:
    """A W3C WebVTT transcript; text is escaped (&, <, >) so '-->' can't end a cue early."""
    out = ["WEBVTT", ""]
    for cue in cue_list:
        text = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        start, end = _clock(cue.start, rate_hz, "."), _clock(cue.end, rate_hz, ".")
        out += [cue.id, f"{start} --> {end}", text, ""]
    return "\n".join(out)


def srt(cue_list: tuple[Caption, ...], rate_hz: int) -> str:
    """A SubRip transcript (numbered cues, comma before milliseconds)."""
    out = []
    for number, cue in enumerate(cue_list, start=1):
        start, end = _clock(cue.start, rate_hz, ","), _clock(cue.end, rate_hz, ",")
        out += [str(number), f"{start} --> {end}", cue.text, ""]
    return "\n".join(out)


def json_chapters(timeline: Timeline, title: str) -> str:
    """Podcasting 2.0 JSON chapters (version 1.2.0): startTime/endTime in seconds."""
    rate = timeline.rate_hz
    ends = [c.start for c in timeline.chapters[1:]] + [timeline.total]
    chapters = [
        {"startTime": round(c.start / rate, 3), "endTime": round(end / rate, 3), "title": c.title}
        for c, end in zip(timeline.chapters, ends, strict=True)
    ]
    return json.dumps({"version": "1.2.0", "title": title, "chapters": chapters}, indent=2) + "\n"


def _ffmeta_escape(value: str) -> str:
    """ffmetadata values escape '=', ';', '#', '\\' and newlines with a backslash."""
    return re.sub(r"([=;#\\\n])", r"\\\1", value)


def id3_tags(
    script: Script, timeline: Timeline, episode: EpisodeInfo, voice_name: str, year: int
) -> dict[str, str]:
    """ffmpeg metadata keys -> ID3v2.3 frames (title TIT2, artist TPE1, album TALB, track TRCK,
    genre TCON, TYER, TLAN, TLEN in ms, TIT3 description). COMM is added in `finish_tags`."""
    track = ""
    if episode.track is not None:
        total = f"/{episode.track_total}" if episode.track_total else ""
        track = f"{episode.track}{total}"
    tags = {
        "title": episode_title(script, timeline, episode),
        "artist": episode.artist or f"pmr ({voice_name})",
        "album_artist": episode.artist or "pmr",
        "album": episode.series,
        "track": track,
        "genre": GENRE,
        "TYER": str(year),
        "language": ISO_639_2.get(script.language.split("-")[0].lower(), script.language),
        "TLEN": str(round(timeline.total * 1000 / timeline.rate_hz)),
        "TIT3": episode.description or script.description,
    }
    return {k: v for k, v in tags.items() if v}


def ffmetadata(tags: dict[str, str], timeline: Timeline) -> str:
    """The ffmetadata file: global tags, then one [CHAPTER] per section in sample units."""
    out = [";FFMETADATA1"]
    out += [f"{_ffmeta_escape(k)}={_ffmeta_escape(v)}" for k, v in tags.items()]
    ends = [c.start for c in timeline.chapters[1:]] + [timeline.total]
    for chapter, end in zip(timeline.chapters, ends, strict=True):
        out += [
            "",
            "[CHAPTER]",
            f"TIMEBASE=1/{timeline.rate_hz}",
            f"START={chapter.start}",
            f"END={end}",
            f"title={_ffmeta_escape(chapter.title)}",
        ]
    return "\n".join(out) + "\n"


def finish_tags(description: str, language: str) -> Callable[[Path], None]:
    """A hook for Mp3Writer: add the COMM (description) frame that ffmpeg's muxer can't write.

    Loaded with translate=False and saved as v2.3, so ffmpeg's v2.3 frames (TYER, CHAP order)
    stay exactly as written.
    """

    def finish(path: Path) -> None:
        from mutagen import MutagenError
        from mutagen.id3 import COMM, ID3

        if not description:
            return
        try:
            tags = ID3(path, translate=False)
            tags.add(COMM(encoding=1, lang=language, desc="", text=[description]))
            tags.save(path, v2_version=3)
        except (MutagenError, OSError) as exc:
            raise PublishError(f"{path}: can't add the description tag ({exc})") from None

    return finish


# ---------------------------------------------------------------- cover art


def check_cover(path: Path) -> Path:
    """A user's cover must be a readable JPEG or PNG (what ID3 APIC and podcast apps take)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            kind, size = image.format, image.size
    except FileNotFoundError:
        raise PublishError(f"{path}: no such cover image") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise PublishError(
            f"{path}: not an image Pillow can read ({exc}); give a JPEG or PNG"
        ) from None
    if kind not in COVER_FORMATS:
        raise PublishError(f"{path}: cover is {kind}; give a JPEG or PNG")
    if size[0] != size[1]:
        raise PublishError(f"{path}: cover is {size[0]}x{size[1]}; podcast art must be square")
    return path


def draw_cover(title: str, subtitle: str, seed: str, size: int = COVER_PX) -> bytes:
    """Square PNG art: a calm vertical gradient (hue from `seed`) with the title. Deterministic,
    so rebuilding the same routine makes the same bytes."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    hue = int(hashlib.sha256(seed.encode()).hexdigest()[:4], 16) / 0xFFFF
    top = np.array(colorsys.hsv_to_rgb(hue, 0.45, 0.55)) * 255
    bottom = np.array(colorsys.hsv_to_rgb((hue + 0.08) % 1, 0.55, 0.18)) * 255
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp).repeat(size, axis=1).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    margin = size // 12
    big = ImageFont.load_default(size=size // 12)
    small = ImageFont.load_default(size=size // 24)
    y = size // 3
    for line in _wrap(title, big, draw, size - 2 * margin):
        draw.text((margin, y), line, font=big, fill=(250, 248, 240))
        y += int(size / 12 * 1.25)
    draw.text((margin, y + size // 30), subtitle, font=small, fill=(225, 225, 215))
    draw.ellipse(  # a soft circle: breathing in, breathing out
        (size - margin - size // 6, margin, size - margin, margin + size // 6),
        outline=(250, 248, 240),
        width=max(2, size // 200),
    )
    draw.text((margin, size - margin - size // 24), "pmr", font=small, fill=(225, 225, 215))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _wrap(text: str, font: object, draw: object, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:  # type: ignore[attr-defined]
            lines[-1] = trial
        else:
            lines.append(word)
    return lines[:4]


# ---------------------------------------------------------------- files


@contextlib.contextmanager
def atomic_path(path: Path, failure: str = "can't write it") -> Iterator[Path]:
    """A temp path beside `path` for the block to fill; renamed onto `path` (with the umask's
    permissions, not mkstemp's private ones) only when the block completes, so readers never
    see half a file. An OSError becomes a PublishError naming `path` and `failure`."""
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        os.close(fd)
    except OSError as exc:
        raise PublishError(f"{path}: {failure} ({exc.strerror})") from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PublishError(f"{path}: {failure} ({exc.strerror})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write a whole file through `atomic_path`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        tmp.write_bytes(raw)
    return Path(path)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Prepared:
    """What the encoder needs for publishing: the ffmetadata file, the cover, the COMM hook."""

    metadata: Path
    cover: Path
    cover_generated: bool
    finish: Callable[[Path], None]


@contextlib.contextmanager
def prepare(
    script: Script, timeline: Timeline, episode: EpisodeInfo, voice_name: str, now: datetime
) -> Iterator[Prepared]:
    """Temp ffmetadata + cover files for one encode; removed afterwards."""
    tags = id3_tags(script, timeline, episode, voice_name, (episode.pub_date or now).year)
    with tempfile.TemporaryDirectory(prefix="pmr-publish-") as folder:
        metadata = Path(folder) / "tags.ffmeta"
        metadata.write_text(ffmetadata(tags, timeline), encoding="utf-8")
        if episode.cover is not None:
            cover, generated = check_cover(episode.cover), False
        else:
            cover, generated = Path(folder) / "cover.png", True
            cover.write_bytes(draw_cover(script.title, episode.series, script.name))
        description = episode.description or script.description
        yield Prepared(metadata, cover, generated, finish_tags(description, tags["language"]))


def sidecar_paths(mp3: Path) -> dict[str, Path]:
    stem = mp3.with_suffix("")
    return {
        "vtt": stem.with_name(stem.name + ".vtt"),
        "srt": stem.with_name(stem.name + ".srt"),
        "chapters": stem.with_name(stem.name + ".chapters.json"),
        "manifest": stem.with_name(stem.name + MANIFEST_SUFFIX),
    }


def write_sidecars(
    mp3: Path,
    script: Script,
    timeline: Timeline,
    episode: EpisodeInfo,
    inputs: dict[str, object],
    clips: Clips,
    now: datetime,
    loudness: Measured | None = None,
) -> dict[str, Path]:
    """Transcripts, JSON chapters and the manifest entry beside the MP3 (manifest last, so an
    entry only exists once everything it names does). `loudness` is what ffmpeg's ebur128
    meter read from the finished MP3 while it was encoded, if it was measured."""
    paths = sidecar_paths(mp3)
    cue_list = captions(script, timeline)
    title = episode_title(script, timeline, episode)
    write_atomic(paths["vtt"], webvtt(cue_list, timeline.rate_hz))
    write_atomic(paths["srt"], srt(cue_list, timeline.rate_hz))
    write_atomic(paths["chapters"], json_chapters(timeline, title))
    rate = timeline.rate_hz
    entry = {
        "file": mp3.name,
        "title": title,
        "series": episode.series,
        "track": episode.track,
        "track_total": episode.track_total,
        "description": episode.description or script.description,
        "language": script.language,
        "routine": script.name,
        "pub_date": (episode.pub_date or now).astimezone(UTC).isoformat(),
        "built_at": now.astimezone(UTC).isoformat(),
        "duration_s": round(timeline.total / rate, 3),
        "frames": timeline.total,
        "rate_hz": rate,
        "size_bytes": mp3.stat().st_size,
        "sha256": sha256_file(mp3),
        "loudness": None
        if loudness is None
        else {"integrated_lufs": loudness.lufs, "true_peak_dbtp": loudness.true_peak_db},
        "pmr_version": __version__,
        "inputs": inputs,
        "transcripts": {"vtt": paths["vtt"].name, "srt": paths["srt"].name},
        "chapters_file": paths["chapters"].name,
        "chapters": [
            {"start_s": round(c.start / rate, 3), "title": c.title, "id": c.id}
            for c in timeline.chapters
        ],
        "lines": [
            {
                "id": c.id,
                "engine": clips.engines.get(c.line_id, ""),
                "voice": clips.voices.get(c.line_id, ""),
                "start_s": round(c.start / rate, 3),
                "end_s": round(c.end / rate, 3),
            }
            for c in cue_list
        ],
        **episode.extra,
    }
    write_atomic(paths["manifest"], json.dumps(entry, indent=2, ensure_ascii=False) + "\n")
    return paths


def file_input(path: Path) -> dict[str, str]:
    """An input named in the manifest with its content hash, so a rebuild can be checked."""
    return {"path": str(path), "sha256": sha256_file(path)}


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
