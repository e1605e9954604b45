"""`pmr export`: copy a series onto a phone or memory card, with its M3U8 playlist.

Each series goes into its own folder under the destination, named and filled with phone-safe
names (FAT32/exFAT). Files are copied through a temp file and renamed, and one that is already
there with the same SHA-256 is left alone, so re-exporting after a rebuild copies only what
changed and a pulled cable never leaves a half-copied MP3 under a real name.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import PublishError, did_you_mean
from ..files import atomic_path, sha256_file, write_atomic
from ..names import safe_filename
from .feed import Entry, load_entries, playlist, playlist_name


@dataclass(frozen=True)
class Exported:
    folder: Path
    copied: tuple[Path, ...]
    unchanged: tuple[Path, ...]
    playlist: Path


def export(source: Path, dest: Path, series: str | None = None) -> list[Exported]:
    """Copy every series in `source` (or only `series`) to `dest/<series>/`."""
    if not dest.is_dir():
        raise PublishError(f"{dest}: no such folder; plug in the phone or card, or create it")
    entries = load_entries(source)
    names = list(dict.fromkeys(e.series for e in entries))
    if series is not None and series not in names:
        raise PublishError(
            f"--series {series!r}: not in {source}{did_you_mean(series, names)}; "
            f"series there: {', '.join(names)}"
        )
    return [
        _export_series(source, dest, name, tuple(e for e in entries if e.series == name))
        for name in names
        if series is None or name == series
    ]


def _export_series(source: Path, dest: Path, series: str, entries: tuple[Entry, ...]) -> Exported:
    folder = dest / safe_filename(series)
    folder.mkdir(exist_ok=True)
    copied, unchanged, renamed = [], [], []
    for entry in entries:
        name = safe_filename(Path(entry.file).stem, ".mp3")
        target = folder / name
        if target.is_file() and sha256_file(target) == sha256_file(source / entry.file):
            unchanged.append(target)
        else:
            _copy_atomic(source / entry.file, target)
            copied.append(target)
        renamed.append(replace(entry, file=name))
    listing = write_atomic(
        folder / playlist_name(series), playlist(tuple(renamed)), error=PublishError
    )
    return Exported(folder, tuple(copied), tuple(unchanged), listing)


def _copy_atomic(source: Path, target: Path) -> None:
    with atomic_path(target, f"can't copy {source.name} there", PublishError) as tmp:
        shutil.copyfile(source, tmp)
