"""Publishing: ID3v2.3 tags, chapters, cover and sidecars, read back by independent tools
(mutagen, ffmpeg's own demuxer, Pillow, hashlib, and the decoded audio)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from PIL import Image

from pipeline.build import BuildOptions, build
from pipeline.encode import ffmpeg_exe
from pipeline.errors import PublishError
from pipeline.names import safe_filename
from pipeline.publish import Caption as TextCue
from pipeline.publish import EpisodeInfo, ffmetadata, srt, webvtt

from .conftest import SHORT_ROUTINE

DESCRIPTION = 'Tense & release <gently>, "slowly"'
ROUTINE = SHORT_ROUTINE.replace(
    'language = "en"', f'language = "en"\ndescription = {json.dumps(DESCRIPTION)}'
)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, module_cache: Path):
    folder = tmp_path_factory.mktemp("publish")
    routine = folder / "mini.toml"
    routine.write_text(ROUTINE)
    episode = EpisodeInfo(
        series="Evening <PMR> & rest",
        track=2,
        track_total=4,
        pub_date=datetime(2026, 3, 2, 7, 0, tzinfo=UTC),
    )
    options = BuildOptions(
        routine=str(routine),
        minutes=1.2,
        out=folder / "mini.mp3",
        cache_dir=module_cache,
        background="none",
        episode=episode,
    )
    return build(options)


def test_id3v23_tags_say_what_a_phone_shows(published, decode_mp3) -> None:
    path = published.path
    assert path.read_bytes()[:4] == b"ID3\x03"  # an ID3v2.3 header, not 2.4
    tags = ID3(path, translate=False)
    assert tags.version == (2, 3, 0)
    assert str(tags["TIT2"]) == "Mini test routine (1.2 min)"
    assert str(tags["TALB"]) == "Evening <PMR> & rest"
    assert str(tags["TPE1"]) == "pmr (piper-joe)"
    assert str(tags["TRCK"]) == "2/4"
    assert str(tags["TCON"]) == "Meditation"
    assert str(tags["TLAN"]) == "eng"
    assert re.fullmatch(r"20\d\d", str(tags["TYER"]))
    assert str(tags["TIT3"]) == DESCRIPTION
    assert tags.getall("COMM")[0].text == [DESCRIPTION]
    audio_ms = decode_mp3(path).seconds * 1000
    assert abs(int(str(tags["TLEN"])) - audio_ms) < 60  # TLEN in ms matches the decoded audio


def test_cover_is_square_png_art(published) -> None:
    (picture,) = ID3(published.path).getall("APIC")
    assert picture.type == 3 and picture.mime == "image/png"
    with Image.open(io.BytesIO(picture.data)) as image:
        assert image.format == "PNG" and image.size == (1400, 1400)
        # not a flat fill: a gradient and text
        assert len(image.convert("L").getcolors(maxcolors=100_000) or ()) > 50


def test_chapters_match_the_timeline_in_mutagen_and_ffmpeg(published) -> None:
    timeline = published.timeline
    rate = timeline.rate_hz
    tags = ID3(published.path)
    (toc,) = tags.getall("CTOC")
    chaps = {c.element_id: c for c in tags.getall("CHAP")}
    assert len(chaps) == len(timeline.chapters) == 3
    assert list(toc.child_element_ids) == [f"ch{i}" for i in range(3)]
    for element_id, chapter in zip(toc.child_element_ids, timeline.chapters, strict=True):
        chap = chaps[element_id]
        assert abs(chap.start_time - chapter.start * 1000 / rate) <= 50
        assert str(chap.sub_frames["TIT2"]) == chapter.title
    # The CHAP frames sit in the file in playing order (players that ignore CTOC need this).
    raw = published.path.read_bytes()[:20_000]
    assert raw.index(b"ch0\x00") < raw.index(b"ch1\x00") < raw.index(b"ch2\x00")
    # ffmpeg's demuxer (what ffprobe uses) reads the same chapters back.
    dump = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(published.path), "-f", "ffmetadata", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.findall(r"\[CHAPTER\]\nTIMEBASE=1/(\d+)\nSTART=(\d+)\nEND=\d+\ntitle=(.*)", dump)
    assert [t for _, _, t in found] == [c.title for c in timeline.chapters]
    for (base, start, _), chapter in zip(found, timeline.chapters, strict=True):
        assert abs(int(start) / int(base) - chapter.start / rate) <= 0.05


def _vtt_cues(text: str) -> list[tuple[float, float, str]]:
    def seconds(stamp: str) -> float:
        h, m, s = stamp.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    pattern = r"(\d\d:\d\d:\d\d[.,]\d\d\d) --> (\d\d:\d\d:\d\d[.,]\d\d\d)\n(.+)"
    return [(seconds(a), seconds(b), t) for a, b, t in re.findall(pattern, text)]


def test_transcripts_are_aligned_to_the_audio(published, decode_mp3) -> None:
    audio = decode_mp3(published.path)
    vtt_path = published.path.with_suffix(".vtt")
    vtt = vtt_path.read_text()
    assert vtt.startswith("WEBVTT\n\n")
    cues = _vtt_cues(vtt)
    words = [line.text for line in published.script.lines()]
    assert [c[2] for c in cues] == words
    for start, end, text in cues:
        assert audio.rms_db(start + 0.1, end - 0.1) > -30, text  # speech inside the cue
        assert audio.rms_db(start - 0.3, start - 0.05) < -42, text  # none before (a chime rings)
    srt_cues = _vtt_cues(published.path.with_suffix(".srt").read_text())
    assert srt_cues == cues


def test_json_chapters_and_manifest_entry(published, decode_mp3) -> None:
    folder = published.path.parent
    chapters = json.loads((folder / "mini.chapters.json").read_text())
    assert chapters["version"] == "1.2.0"
    tags = ID3(published.path)
    starts = sorted(c.start_time / 1000 for c in tags.getall("CHAP"))
    assert [c["startTime"] for c in chapters["chapters"]] == pytest.approx(starts, abs=0.05)
    entry = json.loads((folder / "mini.manifest.json").read_text())
    data = published.path.read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["size_bytes"] == len(data)
    assert abs(entry["duration_s"] - decode_mp3(published.path).seconds) < 0.1
    assert entry["pub_date"] == "2026-03-02T07:00:00+00:00"
    assert (
        entry["inputs"]["routine"]["sha256"]
        == hashlib.sha256((folder / "mini.toml").read_bytes()).hexdigest()
    )
    assert {line["engine"] for line in entry["lines"]} == {"piper"}
    assert {line["voice"] for line in entry["lines"]} == {"piper-joe"}
    assert [line["id"] for line in entry["lines"]] == [x.id for x in published.script.lines()]
    assert -40 < entry["loudness"]["integrated_lufs"] < -8
    assert entry["loudness"]["true_peak_dbtp"] < 0
    assert entry["pmr_version"]
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_a_given_jpeg_cover_is_embedded_as_is(tmp_path: Path, mini_routine: Path) -> None:
    cover = tmp_path / "art.jpg"
    Image.new("RGB", (1400, 1400), (20, 80, 120)).save(cover, "JPEG")
    out = tmp_path / "s.mp3"
    options = BuildOptions(
        routine=str(mini_routine),
        minutes=1.1,
        out=out,
        background="none",
        episode=EpisodeInfo(cover=cover),
        sidecars=False,
    )
    build(options)
    (picture,) = ID3(out).getall("APIC")
    assert picture.mime == "image/jpeg" and picture.data == cover.read_bytes()
    assert not out.with_suffix(".vtt").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not an image", "not an image Pillow can read"), (None, "must be square")],
)
def test_bad_cover_is_refused_before_anything_is_written(
    tmp_path: Path, mini_routine: Path, content: bytes | None, message: str
) -> None:
    cover = tmp_path / "art.png"
    if content is None:
        Image.new("RGB", (1400, 1000)).save(cover, "PNG")
    else:
        cover.write_bytes(content)
    out = tmp_path / "out" / "s.mp3"
    out.parent.mkdir()
    options = BuildOptions(
        routine=str(mini_routine), minutes=1.1, out=out, episode=EpisodeInfo(cover=cover)
    )
    with pytest.raises(PublishError, match=message):
        build(options)
    assert list(out.parent.iterdir()) == []


def test_text_builders_escape_what_their_formats_reserve() -> None:
    cue = TextCue("a.1", 44_100, 88_200 + 22, "Breathe --> out & <in>")
    assert "Breathe --&gt; out &amp; &lt;in&gt;" in webvtt((cue,), 44_100)
    assert "00:00:01.000 --> 00:00:02.000" in webvtt((cue,), 44_100)
    assert "1\n00:00:01,000 --> 00:00:02,000\nBreathe --> out & <in>\n" in srt((cue,), 44_100)
    from pipeline.fit import Chapter, Timeline

    timeline = Timeline(44_100, 441_000, (), (Chapter("a", "One=1; #two\\", 0),))
    text = ffmetadata({"title": "a=b;c"}, timeline)
    assert "title=a\\=b\\;c" in text and "title=One\\=1\\; \\#two\\\\" in text
    assert "TIMEBASE=1/44100\nSTART=0\nEND=441000" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Week 1: Learn", "Week 1 - Learn.mp3"),
        ('a?b*c"d<e>f|g/h\\i', "abc'defg-h-i.mp3"),
        ('Evening <b>PMR</b> & "rest"', "Evening bPMR-b & 'rest'.mp3"),
        ("  trailing dots...  ", "trailing dots.mp3"),
        ("CON", "_CON.mp3"),
        ("", "untitled.mp3"),
        ("tab\there\x00", "tab here.mp3"),
    ],
)
def test_safe_filenames(text: str, expected: str) -> None:
    assert safe_filename(text, ".mp3") == expected


def test_safe_filenames_are_bounded() -> None:
    name = safe_filename("Relax " * 60, ".mp3", max_chars=40)
    assert len(name) <= 40 and name.endswith("Relax.mp3")
    assert not set(name) & set(':?*"<>|')


def test_repeated_lines_get_unique_cue_ids() -> None:
    from pipeline.fit import Event, Timeline
    from pipeline.publish import captions
    from pipeline.template import Line, Script, Section

    script = Script("r", "R", "en", "", (Section("a", "A", (Line("a.x", "Tense."),)),))
    events = (Event("line", 0, 10, "a.x", "a"), Event("line", 20, 10, "a.x", "a.2"))
    timeline = Timeline(100, 30, events, ())
    assert [c.id for c in captions(script, timeline)] == ["a.x", "a.x#2"]
