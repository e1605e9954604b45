"""Small in/out tests: line splitting, Retry-After, batchexecute parsing, profiles, cache CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import VoiceError
from pipeline.narration import ClipCache, load_voice
from pipeline.narration.engines.gtts import GttsAnswerError, parse_batchexecute, retry_after_s
from pipeline.narration.textsplit import split_for_tts

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("Relax.", ["Relax."]),
        ("  Let   go.  ", ["Let go."]),
        (
            "Breathe in. " * 12,
            ["Breathe in. " * 7 + "Breathe in.", "Breathe in. " * 3 + "Breathe in."],
        ),
        (
            "Feel the warmth spread through your hands, your arms, your shoulders and your "
            "neck, and notice how heavy they have become",
            [
                "Feel the warmth spread through your hands, your arms, your shoulders and your "
                "neck,",
                "and notice how heavy they have become",
            ],
        ),
    ],
)
def test_split_for_tts_cuts_at_sentences_then_clauses(text: str, pieces: list[str]) -> None:
    assert split_for_tts(text, 100) == [p.strip() for p in pieces]


def test_split_for_tts_never_exceeds_the_limit_and_loses_nothing() -> None:
    text = "word " * 70 + "x" * 130
    pieces = split_for_tts(text, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), (None, None), ("", None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after(value, seconds) -> None:
    assert retry_after_s(value) == seconds


def test_parse_batchexecute_finds_the_audio_and_rejects_the_rest() -> None:
    inner = json.dumps([base64.b64encode(b"ID3mp3").decode()])
    row = json.dumps([["wrb.fr", "jQ1olc", inner, None, None, None, "generic"]])
    assert parse_batchexecute(f")]}}'\n\n{len(row)}\n{row}\n", "t") == b"ID3mp3"
    refused = json.dumps([["wrb.fr", "jQ1olc", None, None, None, None, "generic"]])
    with pytest.raises(GttsAnswerError, match="unsupported language"):
        parse_batchexecute(f")]}}'\n{refused}\n", "t")
    with pytest.raises(GttsAnswerError, match="unexpected answer"):
        parse_batchexecute("<html>sorry</html>", "t")


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ('engine = "gtts"\nlanguage = "en"\naccent = "co.uj"', "did you mean 'co.uk'"),
        ('engine = "gtts"\nlanguage = "xx"', "'xx' is not a gTTS language"),
        ('engine = "polly"\nlanguage = "en"', "engine: 'polly' is unknown"),
        ('engine = "gtts"\nlanguage = "en"\nslow = "yes"', "slow: 'yes' must be true or false"),
        ('engine = "recorded"\nlanguage = "en"', "pack: a recorded voice needs"),
        ('engine = "piper"\nlanguage = "en"\nfallback = "bad"', "fall back to itself"),
        ('engine = "piper"\nlanguage = "en"\npace = 3', "pace: 3 must be a number from 0.5"),
    ],
)
def test_a_bad_profile_names_the_key(tmp_path, monkeypatch, profile: str, message: str) -> None:
    (tmp_path / "bad.toml").write_text(f'name = "bad"\n{profile}\n')
    monkeypatch.setenv("PMR_VOICES_DIR", str(tmp_path))
    with pytest.raises(VoiceError, match=message):
        load_voice("bad")
    result = runner.invoke(app, ["build", "--voice", "bad", "--out", str(tmp_path / "x.mp3")])
    assert result.exit_code == 2 and str(tmp_path / "bad.toml") in result.output
    assert "bad          invalid:" in runner.invoke(app, ["voices"]).output


def test_a_fallback_to_another_language_is_refused(tmp_path, monkeypatch, mini_routine) -> None:
    (tmp_path / "es-first.toml").write_text(
        'name = "es-first"\nengine = "gtts"\nlanguage = "en"\nfallback = "gtts-es"\n'
    )
    monkeypatch.setenv("PMR_VOICES_DIR", str(tmp_path))
    args = ["build", str(mini_routine), "-m", "1.1", "--voice", "es-first", "--offline"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x.mp3")])
    assert result.exit_code == 2
    assert "voice gtts-es speaks 'es' but routine mini is in 'en'" in result.output


def test_preview_writes_one_line(tmp_path: Path, decode_mp3) -> None:
    out = tmp_path / "p.mp3"
    result = runner.invoke(app, ["preview", "Let your shoulders drop.", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "spoken by piper-joe" in result.output
    audio = decode_mp3(out)
    assert audio.samples.shape[1] == 1 and 0.8 < audio.seconds < 4
    assert audio.rms_db(0.2, audio.seconds - 0.2) > -30
    bad = runner.invoke(app, ["preview", "", "-o", str(tmp_path / "q.mp3")])
    assert bad.exit_code == 2 and not (tmp_path / "q.mp3").exists()


def test_cache_info_and_prune(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    clip = np.linspace(-0.5, 0.5, 1000, dtype=np.float32)
    for index in range(3):
        cache.put(f"alpha/{index:064x}", clip)
    kept = cache.put(f"beta/{0:064x}", clip)
    broken = cache.put(f"beta/{1:064x}", clip)
    broken.write_bytes(broken.read_bytes()[:-7])  # truncated by a crash
    (tmp_path / "clips" / "beta" / ".dead.tmp").write_bytes(b"x")
    info = runner.invoke(app, ["cache", "info", "--cache-dir", str(tmp_path)])
    assert info.exit_code == 0, info.output
    assert "alpha" in info.output and " 3 clips" in info.output and " 5 clips" in info.output
    pruned = runner.invoke(
        app, ["cache", "prune", "--voice", "alpha", "--cache-dir", str(tmp_path)]
    )
    assert pruned.exit_code == 0, pruned.output
    assert "removed 4 clips (1 corrupt)" in pruned.output
    assert sorted(p.name for p in cache.entries()) == [kept.name]
    assert cache.lookup(f"beta/{0:064x}")[0] is not None
    for store in ("covers", "beds"):  # what builds keep beside the clips
        (tmp_path / store).mkdir()
        (tmp_path / store / "kept.npy").write_bytes(b"x" * 100)
    everything = runner.invoke(app, ["cache", "prune", "--all", "--cache-dir", str(tmp_path)])
    assert "removed 1 clips" in everything.output and "1 temp files" in everything.output
    assert "2 cover and bed files" in everything.output
    assert list(cache.entries()) == [] and not list(tmp_path.glob("*/kept.npy"))
    negative = runner.invoke(app, ["cache", "prune", "--older-than", "-1"])
    assert negative.exit_code == 2 and "--older-than" in negative.output


def test_gtts_request_bodies_keep_sentence_ends_and_speed() -> None:
    """pmr builds bodies with gTTS itself, minus its bug of eating the period after '-st'."""
    import dataclasses
    import urllib.parse

    from pipeline.narration.engines.gtts import GttsEngine

    def sent(engine: GttsEngine, text: str) -> list:
        [body] = engine.bodies(text)
        rpc = json.loads(urllib.parse.parse_qs(body)["f.req"][0])
        return json.loads(rpc[0][0][1])

    engine = GttsEngine(load_voice("gtts-uk"))
    assert sent(engine, "Make a fist. Rest.") == ["Make a fist. Rest.", "en", None, "null"]
    assert sent(engine, "Ask Dr. Lee.")[0] == "Ask Dr Lee."  # a real abbreviation still goes
    spanish = load_voice("gtts-es")
    slow = GttsEngine(
        dataclasses.replace(spanish, options=dataclasses.replace(spanish.options, slow=True))
    )
    assert sent(slow, "Relájate.") == ["Relájate.", "es", True, "null"]


def test_connection_failures_are_named() -> None:
    import requests

    from pipeline.narration.engines.gtts import NO_ROUTE, _reason

    refused = requests.ConnectionError("HTTPConnectionPool: [Errno 111] Connection refused")
    dns = requests.ConnectionError("Failed to resolve 'x' ([Errno -2] Name or service not known)")
    assert _reason(refused) == "Connection refused" and _reason(refused) not in NO_ROUTE
    assert _reason(dns) in NO_ROUTE  # no retries: an offline machine falls back at once
