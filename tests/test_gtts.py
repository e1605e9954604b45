"""gTTS for real, against a loopback server that speaks Google's batchexecute wire format."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import VoiceError
from pipeline.narration import ClipCache, load_voice, narrate
from pipeline.narration.phrases import Phrasing, phrases
from pipeline.template import expand, load_script
from pipeline.tuning import CLIP_PAD_S

from .conftest import SHORT_ROUTINE, foreground
from .gtts_loopback import TONE_S_PER_CHAR, running_server

RATE = 44_100
runner = CliRunner()


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch):
    """gTTS's host redirected to 127.0.0.1 through pmr's own PMR_GTTS_BASE_URL."""
    with running_server() as server:
        monkeypatch.setenv("PMR_GTTS_BASE_URL", server.base_url)
        monkeypatch.setenv("PMR_GTTS_RETRIES", "2")
        yield server


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loopback port where nothing listens: every connection is refused."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PMR_GTTS_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("PMR_GTTS_RETRIES", "1")


def one_line(text: str, language: str = "en"):
    return expand(
        {
            "routine": {"name": "one", "title": "One", "language": language},
            "sections": [{"id": "s", "title": "S", "steps": [{"id": "line", "say": text}]}],
        }
    )


def loud_runs(clip: np.ndarray, rate: int = RATE) -> list[tuple[float, float]]:
    """(start_s, end_s) of stretches louder than -40 dBFS, measured in 5 ms windows."""
    window = rate // 200
    frames = clip.size // window
    rms = np.sqrt(np.mean(np.asarray(clip[: frames * window]).reshape(frames, window) ** 2, 1))
    loud = np.concatenate([[0], (rms > 10 ** (-40 / 20)).astype(int), [0]])
    edges = np.flatnonzero(np.diff(loud))
    return [
        (a * window / rate, b * window / rate) for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


def test_a_line_is_fetched_decoded_and_trimmed_to_the_pad(google, tmp_path: Path) -> None:
    voice = load_voice("gtts-uk")
    text = "Breathe in slowly."
    clips = narrate(one_line(text), voice, ClipCache(tmp_path), RATE, pace=1.0)  # voice's own
    [seen] = google.seen
    assert (seen.accent, seen.text, seen.lang, seen.speed) == ("co.uk", text, "en", None)
    clip = clips.load("s.line")
    [(start, end)] = loud_runs(clip)
    assert end - start == pytest.approx(len(text) * TONE_S_PER_CHAR / voice.pace, abs=0.03)
    assert start == pytest.approx(CLIP_PAD_S, abs=0.012)
    assert clip.size / RATE - end == pytest.approx(CLIP_PAD_S, abs=0.012)
    assert clips.voices == {"s.line": "gtts-uk"} and clips.engines == {"s.line": "gtts"}


def test_a_long_line_is_spoken_in_phrases_joined_with_the_phrasing_pauses(
    google, tmp_path: Path
) -> None:
    text = (
        "Now bring your attention to your right hand, and slowly, gently, clench it into a "
        "tight fist; feel the tension build in your fingers, your palm and your wrist. "
        "Hold it there."
    )
    assert len(text) > 150
    clips = narrate(one_line(text), load_voice("gtts-us"), ClipCache(tmp_path), RATE)
    pieces = google.texts()
    assert len(pieces) >= 2 and all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces) == text
    assert all(p[-1] in ".,;:" for p in pieces)  # never in the middle of a word or phrase
    runs = loud_runs(clips.load("s.line"))
    assert len(runs) == len(pieces)
    for (_, end), (start, _), before in zip(runs[:-1], runs[1:], pieces[:-1], strict=True):
        pause = Phrasing().sentence_s if before.endswith(".") else Phrasing().clause_s
        assert start - end == pytest.approx(pause, abs=0.03)


def test_429_with_retry_after_is_honoured_then_succeeds(google, tmp_path: Path) -> None:
    google.plan.append(("status", 429, {"Retry-After": "1"}))
    clips = narrate(one_line("Let go."), load_voice("gtts-us"), ClipCache(tmp_path), RATE)
    assert google.texts() == ["Let go.", "Let go."]
    assert google.seen[1].at_s - google.seen[0].at_s >= 1.0  # waited as the server asked
    assert clips.synthesized == 1 and len(loud_runs(clips.load("s.line"))) == 1


def test_500_is_retried_with_backoff_then_succeeds(google, tmp_path: Path) -> None:
    google.plan.append(("status", 500))
    clips = narrate(one_line("Let go."), load_voice("gtts-us"), ClipCache(tmp_path), RATE)
    assert len(google.seen) == 2 and clips.voices["s.line"] == "gtts-us"


def test_a_slow_answer_times_out_and_is_retried(google, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PMR_GTTS_TIMEOUT_S", "0.5")
    google.plan.append(("sleep", 1.5))
    clips = narrate(one_line("Let go."), load_voice("gtts-us"), ClipCache(tmp_path), RATE)
    assert len(google.seen) == 2 and clips.synthesized == 1


def test_timeouts_every_time_give_a_clear_error(google, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PMR_GTTS_TIMEOUT_S", "0.3")
    monkeypatch.setenv("PMR_GTTS_RETRIES", "1")
    google.plan.extend([("sleep", 1.0), ("sleep", 1.0)])
    with pytest.raises(VoiceError, match=r"gtts-es \(gtts\) can.t speak: no answer") as excinfo:
        narrate(one_line("Hola.", "es"), load_voice("gtts-es"), ClipCache(tmp_path), RATE)
    # the message counts the attempts (the server may see the last one after we gave up)
    assert "within 0.3 s (after 2 attempts)" in str(excinfo.value) and google.seen


def test_a_cut_off_answer_is_retried_and_nothing_partial_is_cached(google, tmp_path: Path) -> None:
    google.plan.append("cut")
    cache = ClipCache(tmp_path)
    narrate(one_line("Let go."), load_voice("gtts-us"), cache, RATE)
    assert len(google.seen) == 2
    assert [
        p.name for p in (tmp_path / "clips" / "gtts-us").iterdir() if p.name.startswith(".")
    ] == []


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("garbage", "unexpected answer, not Google's batchexecute format"),
        ("not-mp3", "not decodable audio"),
    ],
)
def test_a_garbage_answer_is_a_clear_error_and_caches_nothing(
    google, tmp_path: Path, action: str, message: str
) -> None:
    google.plan.append(action)
    with pytest.raises(VoiceError, match=message):
        narrate(one_line("Let go."), load_voice("gtts-us"), ClipCache(tmp_path), RATE)
    assert list(tmp_path.rglob("*.npy")) == []


def test_a_cached_line_is_never_requested_twice_and_corruption_is_repaired(
    google, tmp_path: Path, mini_routine: Path
) -> None:
    script, voice, cache = (
        load_script(str(mini_routine)),
        load_voice("gtts-us"),
        ClipCache(tmp_path),
    )
    first = narrate(script, voice, cache, RATE)
    texts = {p.text for line in script.lines() for p in phrases(line.text, Phrasing(), 100)}
    assert sorted(google.texts()) == sorted(texts)  # each phrase once ("Hold." too)
    second = narrate(script, voice, cache, RATE)
    assert len(google.seen) == len(texts) and second.synthesized == 0
    damaged = first.paths["left-hand.tense"]
    blob = bytearray(damaged.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    damaged.write_bytes(bytes(blob))
    notes: list[str] = []
    third = narrate(script, voice, cache, RATE, on_notice=notes.append)
    assert third.repaired == ("left-hand.tense",)
    assert len(google.seen) == len(texts)  # re-joined from its cached phrases: no request
    assert cache.lookup(f"gtts-us/{damaged.stem}")[0] is not None
    assert len(notes) == 1 and "corrupt" in notes[0] and "left-hand.tense" in notes[0]
    assert np.array_equal(np.load(damaged), third.load("left-hand.tense"))


def test_refused_connection_falls_back_to_piper_once(
    refused, mini_routine: Path, cache_dir
) -> None:
    notes: list[str] = []
    script = load_script(str(mini_routine))
    clips = narrate(
        script, load_voice("gtts-us"), ClipCache(cache_dir), RATE, on_notice=notes.append
    )
    assert set(clips.voices.values()) == {"piper-joe"} and set(clips.engines.values()) == {"piper"}
    assert len(notes) == 1
    assert (
        "gtts-us (gtts) can't speak: can't connect" in notes[0] and "Connection refused" in notes[0]
    )
    assert "spoken by piper-joe" in notes[0]


def test_refused_connection_without_fallback_exits_2(refused, tmp_path: Path) -> None:
    routine = tmp_path / "es.toml"
    routine.write_text(
        SHORT_ROUTINE.replace('language = "en"', 'language = "es"'), encoding="utf-8"
    )
    out = tmp_path / "x.mp3"
    result = runner.invoke(
        app, ["build", str(routine), "-m", "1.1", "--voice", "gtts-es", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "gtts-es (gtts) can't speak: can't connect" in result.output
    assert "Connection refused" in result.output and "no fallback" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize(
    ("voice", "accent", "language"),
    [
        ("gtts-us", "com", "en"),
        ("gtts-uk", "co.uk", "en"),
        ("gtts-au", "com.au", "en"),
        ("gtts-in", "co.in", "en"),
        ("gtts-es", "com", "es"),
    ],
)
def test_each_gtts_voice_builds_a_short_session(
    google, tmp_path: Path, decode_mp3, voice: str, accent: str, language: str
) -> None:
    routine = tmp_path / "mini.toml"
    routine.write_text(
        SHORT_ROUTINE.replace('language = "en"', f'language = "{language}"'), encoding="utf-8"
    )
    out = tmp_path / "s.mp3"
    result = runner.invoke(
        app,
        ["build", str(routine), "-m", "1.1", "--voice", voice, "--out", str(out),
         "--cache-dir", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {(s.accent, s.lang) for s in google.seen} == {(accent, language)}
    audio = decode_mp3(out)
    assert audio.seconds == pytest.approx(66, abs=0.3)
    # the first line is spoken (0.7 s of tone in this 3 s window) after the 2 s settle; the
    # bed alone sits near -50 dB
    assert audio.rms_db(6, 9) > -38


def test_offline_build_never_touches_the_network(google, tmp_path: Path, mini_routine) -> None:
    out = tmp_path / "s.mp3"
    args = ["build", str(mini_routine), "-m", "1.1", "--voice", "gtts-au", "--out", str(out)]
    result = runner.invoke(app, [*args, "--offline"])
    assert result.exit_code == 0, result.output
    assert result.output.count("pmr: note:") == 1 and "--offline" in result.output
    assert google.seen == [] and out.exists()
    out.unlink()
    strict = runner.invoke(app, [*args, "--offline", "--strict"])
    assert strict.exit_code == 2
    assert "gtts-au (gtts) can't speak" in strict.output and "--strict" in strict.output
    assert google.seen == [] and not out.exists()


def test_concurrent_narrators_share_one_cache(google, tmp_path: Path, mini_routine) -> None:
    cache = tmp_path / "cache"
    command = [str(Path(sys.executable).with_name("pmr")), "narrate", str(mini_routine),
               "--voice", "gtts-us", "--cache-dir", str(cache)]  # fmt: skip
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr.decode()
    store = ClipCache(cache)
    entries = list(store.entries())
    lines = {line.text for line in load_script(str(mini_routine)).lines()}
    phrased = {p.text for text in lines for p in phrases(text, Phrasing(), 100)}
    assert len(entries) == len(lines) + len(phrased)  # each line, and each phrase once
    for path in entries:
        key = f"{path.parent.name}/{path.stem}"
        clip, corrupt = store.lookup(key)
        assert clip is not None and not corrupt
    assert list(cache.rglob(".*.part")) == []


def test_an_interrupted_run_leaves_only_complete_clips(google, tmp_path: Path) -> None:
    """Ctrl-C while answers are in flight: exit 130, every cached clip verifies, no temp files."""
    routine = tmp_path / "long.toml"
    sentences = [f"Breathe in slowly and count to {n}." for n in range(12)]
    routine.write_text(
        '[routine]\nname = "long"\ntitle = "Long"\nlanguage = "en"\n\n[[sections]]\n'
        'id = "s"\ntitle = "S"\nsteps = [\n'
        + "".join(f'  {{ say = "{text}" }},\n' for text in sentences)
        + "]\n",
        encoding="utf-8",
    )
    google.plan.extend([("sleep", 0.4)] * 12)
    cache = tmp_path / "cache"
    command = [str(Path(sys.executable).with_name("pmr")), "narrate", str(routine),
               "--voice", "gtts-us", "--cache-dir", str(cache)]  # fmt: skip
    run = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=foreground
    )
    for _ in range(600):  # until a few answers are under way (at most 60 s)
        if len(google.seen) >= 4 or run.poll() is not None:
            break
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr.decode()
    assert "pmr: interrupted" in stderr.decode() and "Traceback" not in stderr.decode()
    store = ClipCache(cache)
    entries = list(store.entries())
    assert len(entries) < 2 * len(sentences)  # it really stopped part-way (line + phrase)
    for path in entries:
        assert store.lookup(f"{path.parent.name}/{path.stem}")[0] is not None
    assert list(cache.rglob(".*.part")) == []
