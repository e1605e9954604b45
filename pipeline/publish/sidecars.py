"""The files beside an MP3: transcripts (WebVTT, SRT), Podcasting 2.0 JSON chapters and the
manifest entry that feeds, pages and exports read.

Pure text builders (`webvtt`, `srt`, `json_chapters`) take the Timeline in frames and only turn
frames into seconds here, at the edge; every file is written through `files.write_atomic`.
Specs followed: W3C WebVTT, SubRip, Podcasting 2.0 JSON chapters 1.2.0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..errors import PublishError
from ..files import has_mark, mark, sha256_file, write_atomic
from ..fit import Timeline
from ..narration import Clips
from ..sound.meter import Measured
from ..template import Script
from .tags import EpisodeInfo, episode_title

MANIFEST_SUFFIX = ".manifest.json"


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


def _clock(frames: int, rate_hz: int, decimal: str) -> str:
    ms = round(frames * 1000 / rate_hz)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal}{millis:03d}"


def webvtt(cue_list: tuple[Caption, ...], rate_hz: int) -> str:
    """A W3C WebVTT transcript; text is escaped (&, <, >) so '-->' can't end a cue early."""
    out = ["WEBVTT", "", f"NOTE {mark()}", ""]
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
    doc = {"version": "1.2.0", "title": title, "generator": mark(), "chapters": chapters}
    return json.dumps(doc, indent=2) + "\n"


def sidecar_paths(mp3: Path) -> dict[str, Path]:
    stem = mp3.with_suffix("")
    return {
        "vtt": stem.with_name(stem.name + ".vtt"),
        "srt": stem.with_name(stem.name + ".srt"),
        "chapters": stem.with_name(stem.name + ".chapters.json"),
        "manifest": stem.with_name(stem.name + MANIFEST_SUFFIX),
    }


def sidecar_owners(mp3: Path) -> dict[Path, Callable[[Path], bool]]:
    """Each sidecar path with its test of "pmr wrote it": its own mark, except the SubRip
    transcript, which has no comments: it is pmr's when the pmr manifest beside it names it."""
    paths = sidecar_paths(mp3)

    def srt_is_ours(path: Path) -> bool:
        manifest = paths["manifest"]
        if not has_mark(manifest):
            return False
        try:
            doc = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(doc, dict) and doc.get("transcripts", {}).get("srt") == path.name

    return {path: srt_is_ours if kind == "srt" else has_mark for kind, path in paths.items()}


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
    entry only exists once everything it names does). `loudness` is what the meter read of
    the session as it was rendered and of the finished MP3's true peak, if it was measured."""
    paths, owners = sidecar_paths(mp3), sidecar_owners(mp3)

    def _write(path: Path, text: str) -> None:
        write_atomic(path, text, error=PublishError, ours=owners[path])

    cue_list = captions(script, timeline)
    title = episode_title(script, timeline, episode)
    _write(paths["vtt"], webvtt(cue_list, timeline.rate_hz))
    _write(paths["srt"], srt(cue_list, timeline.rate_hz))
    _write(paths["chapters"], json_chapters(timeline, title))
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
        "generator": mark(),
        "inputs": inputs,
        "transcripts": {"vtt": paths["vtt"].name, "srt": paths["srt"].name},
        "chapters_file": paths["chapters"].name,
        "chapters": [
            {"start_s": round(c.start / rate, 3), "title": c.title, "id": c.id}
            for c in timeline.chapters
        ],
        "lines": [_spoken(c, clips, rate) for c in cue_list],
        **episode.extra,
    }
    _write(paths["manifest"], json.dumps(entry, indent=2, ensure_ascii=False) + "\n")
    return paths


def _spoken(cue: Caption, clips: Clips, rate_hz: int) -> dict[str, object]:
    """A manifest's record of one spoken line: who spoke it, and when (s)."""
    return {
        "id": cue.id,
        "engine": clips.engines.get(cue.line_id, ""),
        "voice": clips.voices.get(cue.line_id, ""),
        "start_s": round(cue.start / rate_hz, 3),
        "end_s": round(cue.end / rate_hz, 3),
    }


def file_input(path: Path) -> dict[str, str]:
    """An input named in the manifest with its content hash, so a rebuild can be checked."""
    return {"path": str(path), "sha256": sha256_file(path)}
