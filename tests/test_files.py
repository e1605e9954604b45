"""pipeline.files: the one module that replaces files."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import PublishError
from pipeline.files import (
    MARK,
    Replace,
    atomic_path,
    lock_path,
    output_lock,
    sha256_file,
    sweep_if_unlocked,
    temp_glob,
    write_atomic,
)

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"


def _with_umask(mask: int, path: Path) -> int:
    old = os.umask(mask)
    try:
        write_atomic(path, b"x")
    finally:
        os.umask(old)
    return path.stat().st_mode & 0o777


def test_written_files_get_the_umask_mode_not_a_private_one(tmp_path: Path) -> None:
    assert _with_umask(0o022, tmp_path / "a") == 0o644
    assert _with_umask(0o027, tmp_path / "b") == 0o640
    assert _with_umask(0o002, tmp_path / "c") == 0o664


def test_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text(f"old, {MARK}")
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_failing_block_keeps_the_old_file_and_removes_the_temp(tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    target.write_text(f"old, {MARK}")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        assert list(tmp_path.glob(temp_glob(target))) == [tmp]
        raise RuntimeError("interrupted")
    assert target.read_text() == f"old, {MARK}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_replace_never_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "routine.toml"
    write_atomic(target, "first", replace=Replace.NEVER)
    with pytest.raises(FileExistsError):
        write_atomic(target, "second", replace=Replace.NEVER)
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["routine.toml"]


def test_os_errors_become_the_callers_error_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "feed.xml"
    with pytest.raises(PublishError, match=r"missing-folder/feed\.xml: can't write it \(No such"):
        write_atomic(target, "x", error=PublishError)
    with pytest.raises(FileNotFoundError):
        write_atomic(target, "x")


def test_a_long_target_name_still_gets_a_temp_name(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 250)
    write_atomic(target, b"ok")
    assert target.read_bytes() == b"ok"


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # more than one read chunk
    (tmp_path / "blob").write_bytes(data)
    assert sha256_file(tmp_path / "blob") == hashlib.sha256(data).hexdigest()


def test_output_lock_clears_a_killed_builds_temps_and_itself(tmp_path: Path) -> None:
    target, sidecar = tmp_path / "s.mp3", tmp_path / "s.vtt"
    stale = [tmp_path / ".s.mp3.dead.part", tmp_path / ".s.mp3.dead.part.mux"]
    stale += [tmp_path / ".s.vtt.dead.part"]
    for path in stale:
        path.write_bytes(b"half")
    other = tmp_path / ".s.mp3x.dead.part"  # another target's temp
    other.write_bytes(b"theirs")
    with output_lock(target, also=(sidecar,)):
        assert lock_path(target).exists()
        assert not any(p.exists() for p in stale)
    assert not lock_path(target).exists()
    assert other.exists()


def test_sweep_leaves_a_running_builds_files_alone(tmp_path: Path) -> None:
    target = tmp_path / "s.mp3"
    temp = tmp_path / ".s.mp3.live.part"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pipeline.files import output_lock\n"
            f"with output_lock({str(target)!r}):\n"
            "    print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        temp.write_bytes(b"being written")
        sweep_if_unlocked(target)
        assert temp.exists() and lock_path(target).exists()
    finally:
        holder.communicate("")
    sweep_if_unlocked(target)
    assert not temp.exists() and not lock_path(target).exists()


def test_only_files_py_replaces_files_and_nothing_sets_the_umask() -> None:
    """One atomic writer: no other module makes temp files beside targets or renames them."""
    pattern = re.compile(r"os\.umask|mkstemp|os\.replace|os\.rename|os\.link|fsync")
    offenders = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "files.py" and pattern.search(path.read_text(encoding="utf-8"))
    }
    assert not offenders, offenders
