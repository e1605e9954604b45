"""Faults and interrupts: nothing half-written, no ffmpeg left behind, the next run completes."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import FitError, TemplateError
from pipeline.fit import fit
from pipeline.template import expand

from .conftest import SHORT_ROUTINE, foreground


def pmr(*args: str, **kwargs) -> subprocess.Popen:
    kwargs.setdefault("preexec_fn", foreground)
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def wait_for_encoding(proc: subprocess.Popen, folder: Path) -> psutil.Process:
    """Wait until the build is writing its temp MP3; return its ffmpeg child."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = []
        for child in psutil.Process(proc.pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):  # a short-lived child may be gone
                if "ffmpeg" in child.name():
                    children.append(child)
        if children and any(p.suffix == ".part" and p.stat().st_size > 0 for p in folder.iterdir()):
            return children[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the build never started encoding")


@pytest.fixture
def long_build(tmp_path: Path, mini_routine: Path, cache_dir: Path):
    """A 2-minute build (long enough to interrupt) into its own folder, its lines synthesized
    first (so the build reaches the encoder at once)."""
    subprocess.run(
        [sys.executable, "-m", "pipeline", "narrate", str(mini_routine)],
        check=True, capture_output=True,
    )  # fmt: skip
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    return mini_routine, out_dir


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_cleans_up(long_build, sig: int, code: int) -> None:
    routine, out_dir = long_build
    proc = pmr("build", str(routine), "-m", "2", "--out", str(out_dir / "s.mp3"))
    ffmpeg = wait_for_encoding(proc, out_dir)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert list(out_dir.iterdir()) == []  # no MP3, no temp, no lock
    assert not ffmpeg.is_running() or ffmpeg.status() == psutil.STATUS_ZOMBIE


def test_sigkill_leaves_no_mp3_and_the_next_run_completes(long_build, decode_mp3) -> None:
    routine, out_dir = long_build
    target = out_dir / "s.mp3"
    proc = pmr("build", str(routine), "-m", "2", "--out", str(target))
    ffmpeg = wait_for_encoding(proc, out_dir)
    proc.kill()
    proc.communicate()
    ffmpeg.wait(timeout=30)  # its stdin closed: it ends by itself
    assert not target.exists()
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "build",
            str(routine),
            "-m",
            "1.1",
            "--out",
            str(target),
        ],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr
    assert abs(decode_mp3(target).seconds - 66) < 0.5
    assert leftovers(out_dir) == []  # the killed build's temp file was cleared


def test_ffmpeg_crash_is_a_clear_error(long_build) -> None:
    routine, out_dir = long_build
    proc = pmr("build", str(routine), "-m", "2", "--out", str(out_dir / "s.mp3"))
    wait_for_encoding(proc, out_dir).kill()
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "ffmpeg failed" in stderr and "Traceback" not in stderr
    assert list(out_dir.iterdir()) == []


def test_full_disk_is_a_clear_error(long_build) -> None:
    routine, out_dir = long_build

    def small_files() -> None:
        foreground()
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    proc = pmr(
        "build", str(routine), "-m", "2", "--out", str(out_dir / "s.mp3"), preexec_fn=small_files
    )
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2, stderr
    assert "no space left" in stderr and str(out_dir / "s.mp3") in stderr
    assert list(out_dir.iterdir()) == []


def test_missing_ffmpeg_is_a_clear_error(long_build) -> None:
    routine, out_dir = long_build
    proc = pmr(
        "build",
        str(routine),
        "-m",
        "2",
        "--out",
        str(out_dir / "s.mp3"),
        env=dict(os.environ, PMR_FFMPEG=str(out_dir / "no-ffmpeg")),
    )
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "can't start ffmpeg" in stderr
    assert list(out_dir.iterdir()) == []


def test_two_builds_to_one_output_are_serialized(long_build, decode_mp3) -> None:
    routine, out_dir = long_build
    target = out_dir / "s.mp3"
    first = pmr("build", str(routine), "-m", "1.5", "--out", str(target))
    second = pmr("build", str(routine), "-m", "1.1", "--out", str(target))
    assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
    assert round(decode_mp3(target).seconds) in (66, 90)
    assert leftovers(out_dir) == []


def test_output_equal_to_an_input_is_refused(long_build) -> None:
    routine, _ = long_build
    before = routine.read_bytes()
    proc = pmr("build", str(routine), "-m", "1.1", "--out", str(routine))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "does not end in .mp3" in stderr  # refused before that

    assert routine.read_bytes() == before


toml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 10_000)
    | st.floats(allow_nan=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "say",
                    "pause",
                    "cue",
                    "min",
                    "max",
                    "default",
                    "seconds",
                    "tense",
                    "release",
                    "steps",
                    "title",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["routine", "pauses", "cycle", "sections", "extra"]),
        toml_values,
        max_size=4,
    )
)
def test_fuzzed_documents_raise_only_template_errors(document) -> None:
    with contextlib.suppress(TemplateError):
        expand(document)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzzed_mutations_of_a_valid_template(data) -> None:
    """Flip one value anywhere in a real template: a Script or a TemplateError, nothing else."""
    import tomllib

    document = tomllib.loads(SHORT_ROUTINE)
    node, key = document, None
    for _ in range(data.draw(st.integers(1, 4))):
        keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        if not isinstance(node[key], dict | list):
            break
        node = node[key]
    if key is not None and isinstance(node, dict | list):
        node[key if isinstance(node, dict) else 0] = data.draw(toml_values) if node else None
    try:
        script = expand(document)
    except TemplateError:
        return
    frames = {line.id: data.draw(st.integers(0, 10**7)) for line in script.lines()}
    minutes = data.draw(st.floats(allow_nan=True, allow_infinity=True))
    with contextlib.suppress(FitError):
        fit(script, frames, 44_100, minutes)
