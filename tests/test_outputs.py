"""Outputs land where users expect and replace only pmr's own files; any language tags
cleanly; fixed scripts build at their natural length; modes follow the umask (issue 16).
Every case runs the real CLI and checks the files it wrote (decoded, or read with mutagen)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.languages import bcp47, iso639_2

from .conftest import SHORT_ROUTINE
from .test_recorded import TAKES, record

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_folder_out_receives_the_mp3_and_only_pmrs_files_are_replaced(
    mini_routine: Path, cache_dir: Path, tmp_path: Path, decode_mp3
) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    base = ["build", str(mini_routine), "-m", "1.2", "--cache-dir", str(cache_dir)]
    _ok([*base, "--out", str(folder), "--no-measure"])
    mp3 = folder / "mini-1.2min-piper-joe.mp3"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"mini-1.2min-piper-joe{s}"
        for s in (".mp3", ".vtt", ".srt", ".chapters.json", ".manifest.json")
    )
    _ok([*base, "--out", f"{folder}/", "--no-measure"])  # its own files: replaced
    mp3.write_bytes(b"my own recording")
    refused = runner.invoke(app, [*base, "--out", str(folder)])
    assert refused.exit_code == 2 and "pmr did not write it; pass --force" in refused.output
    assert mp3.read_bytes() == b"my own recording"
    _ok([*base, "--out", str(folder), "--force", "--no-measure"])
    assert decode_mp3(mp3).seconds == pytest.approx(72, abs=0.1)

    page = folder / "index.html"
    page.write_text("<p>my page</p>", encoding="utf-8")
    refused = runner.invoke(app, ["index", str(folder)])
    assert refused.exit_code == 2 and f"{page}: exists and pmr did not write it" in refused.output
    assert page.read_text(encoding="utf-8") == "<p>my page</p>"
    _ok(["index", str(folder), "--force"])
    assert '<meta name="generator" content="made by pmr' in page.read_text(encoding="utf-8")
    _ok(["index", str(folder)])  # its own page: replaced without --force


FIXED = """
[routine]
name = "fixed"
title = "Fixed pauses only"
language = "en"

[pauses]
hold = { seconds = 5 }

[cycle]
steps = [
  { id = "tense", say = "{tense}" },
  { pause = "hold" },
  { id = "release", say = "{release} Notice the difference." },
  { pause = 3.5 },
]

[[sections]]
id = "start"
title = "Start"
steps = [{ id = "hello", say = "Sit comfortably and close your eyes." }, { pause = 2.5 }]

[[sections]]
id = "left-hand"
title = "Left hand"
tense = "Clench your left hand into a fist. Hold."
release = "And release."
"""


def test_fixed_pauses_build_at_the_natural_length_plan_prints(
    cache_dir: Path, tmp_path: Path, decode_mp3
) -> None:
    routine = tmp_path / "fixed.toml"
    routine.write_text(FIXED, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    _ok(["build", str(routine), "--out", str(out), "--cache-dir", str(cache_dir), "-q"])
    mp3 = out / "fixed-natural-piper-joe.mp3"
    sheet = _ok(["plan", str(routine), "--cache-dir", str(cache_dir)])
    found = re.search(r"natural length (\d+\.\d{4}) min \((\d+\.\d{3}) s, exact", sheet)
    assert found, sheet
    seconds = float(found.group(2))
    assert float(found.group(1)) == pytest.approx(seconds / 60, abs=1e-4)
    assert decode_mp3(mp3).seconds == pytest.approx(seconds, abs=0.03)
    manifest = json.loads((out / "fixed-natural-piper-joe.manifest.json").read_text())
    assert manifest["inputs"]["minutes"] == "natural"


def test_routine_minutes_sets_the_default_length(mini_routine: Path, cache_dir: Path) -> None:
    text = SHORT_ROUTINE.replace('language = "en"', 'language = "en"\nminutes = 1.5', 1)
    mini_routine.write_text(text, encoding="utf-8")
    sheet = _ok(["plan", str(mini_routine), "--cache-dir", str(cache_dir)])
    assert sheet.splitlines()[-1].split() == ["1:30.0", "end"]
    sheet = _ok(["plan", str(mini_routine), "-m", "1.2", "--cache-dir", str(cache_dir)])
    assert sheet.splitlines()[-1].split() == ["1:12.0", "end"]


CATALAN = {
    "start.hello": "Seu còmodament i tanca els ulls.",
    "left-hand.tense": "Tanca el puny esquerre amb força. Aguanta.",
    "left-hand.release": "I deixa anar. Nota la diferència.",
    "right-hand.tense": "Tanca el puny dret amb força. Aguanta.",
    "right-hand.release": "I deixa anar. Nota la diferència, un cop més.",
}


def test_a_catalan_routine_with_a_recorded_pack_builds_tagged_cat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    voices = tmp_path / "voices"
    folder = voices / "marta-pack"
    folder.mkdir(parents=True)
    lines = []
    for line_id, (name, tone_s) in TAKES.items():
        record(folder / name, tone_s)
        lines.append(f'"{line_id}" = "{name}"')
    (folder / "pack.toml").write_text(
        '[pack]\nlanguage = "ca"\n\n[lines]\n' + "\n".join(lines) + "\n", encoding="utf-8"
    )
    (voices / "marta.toml").write_text(
        'name = "marta"\nengine = "recorded"\nlanguage = "ca"\npack = "marta-pack"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PMR_VOICES_DIR", str(voices))
    sections = "".join(
        f'\n[[sections]]\nid = "{side}-hand"\ntitle = "{title}"\n'
        f'steps = [{{ id = "tense", say = "{CATALAN[side + "-hand.tense"]}" }}, '
        f'{{ pause = "hold" }}, {{ id = "release", say = "{CATALAN[side + "-hand.release"]}" }}, '
        f'{{ pause = "relax" }}]\n'
        for side, title in (("left", "Mà esquerra"), ("right", "Mà dreta"))
    )
    routine = tmp_path / "relax-ca.toml"
    routine.write_text(
        '[routine]\nname = "relax-ca"\ntitle = "Relaxació"\nlanguage = "ca"\n'
        'description = "Relaxació muscular progressiva."\n\n[pauses]\n'
        "hold = { seconds = 5 }\nrelax = { min = 15, default = 16, max = 40 }\n"
        "settle = { min = 1, default = 2, max = 10 }\n\n"
        '[[sections]]\nid = "start"\ntitle = "Inici"\nsteps = [{ pause = "settle" }, '
        f'{{ id = "hello", say = "{CATALAN["start.hello"]}" }}, {{ pause = "settle" }}]\n'
        + sections,
        encoding="utf-8",
    )
    site = tmp_path / "site"
    site.mkdir()
    args = ["build", str(routine), "-m", "1.1", "--voice", "marta", "--out", str(site)]
    _ok([*args, "--cache-dir", str(tmp_path / "cache"), "--no-measure", "-q"])
    tags = ID3(site / "relax-ca-1.1min-marta.mp3")
    assert str(tags["TLAN"]) == "cat"
    [comment] = tags.getall("COMM")
    assert comment.lang == "cat" and comment.text == ["Relaxació muscular progressiva."]
    _ok(["feed", str(site), "--title", "Relax", "--author", "Marta",
         "--base-url", "http://127.0.0.1:8000/"])  # fmt: skip
    assert "<language>ca</language>" in (site / "feed.xml").read_text(encoding="utf-8")


def test_languages_map_through_langcodes_with_a_fallback() -> None:
    assert [iso639_2(t) for t in ("ca", "en-US", "de-AT", "pt_BR", "iw")] == [
        "cat", "eng", "deu", "por", "heb",
    ]  # fmt: skip
    assert iso639_2("xx-nope") == "XXX" and iso639_2("") == "XXX"
    assert [bcp47(t) for t in ("en_US", "cat", "zh-hans", "!!")] == [
        "en-US", "ca", "zh-Hans", "und",
    ]  # fmt: skip


def test_every_file_gets_the_umask_mode(mini_routine: Path, tmp_path: Path) -> None:
    """Clips, their sidecars, the MP3, its sidecars and a batch stamp (and a clip's peak
    envelope, `.f16`, when the limiter needed one), under umask 002: 0664."""
    cache, out = tmp_path / "cache", tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PMR_CACHE_DIR": str(cache)}
    for args in (
        ["build", str(mini_routine), "-m", "1.2", "--out", str(out / "one.mp3"), "-q"],
        ["batch", "--routines", str(mini_routine), "--minutes", "1.2", "-o", str(out), "-q"],
    ):
        subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            env=env, check=True, capture_output=True, preexec_fn=lambda: os.umask(0o002),
        )  # fmt: skip
    files = [p for p in (*cache.rglob("*"), *out.rglob("*")) if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".npy", ".f32", ".mp3", ".vtt", ".srt", ".json"} <= kinds, kinds
    assert any(p.name.endswith(".pmr.json") for p in files), [p.name for p in files]  # stamp
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {
        p.name: "0o664" for p in files
    }


def test_the_distribution_has_a_name_of_its_own() -> None:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    assert project["name"] == "pmr-relax"
    assert project["scripts"] == {"pmr": "pipeline.cli:app"}
    dist = metadata.distribution("pmr-relax")  # what `pip install` of the name installed
    scripts = {e.name: e.value for e in dist.entry_points if e.group == "console_scripts"}
    assert scripts == {"pmr": "pipeline.cli:app"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install 'pmr-relax[dask]'" in readme
    assert not re.search(r"pip install '?pmr[\[' ]", readme)
