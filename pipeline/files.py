"""The only module that replaces files: atomic writes, file hashes, temp names, output locks.

Every file pmr writes (MP3s, sidecars, feeds, stamps, cache clips, voice sidecars, plots,
templates) goes through `atomic_path`: a temp file beside the target, filled, fsynced and then
renamed onto the target, so a reader sees the old file or the whole new one, never half. The
temp file is created with mode 0o666 and the kernel applies the umask, so a finished file gets
the permissions any other program's file would get (not mkstemp's private 0o600), without
pmr ever calling `os.umask` (process-wide, and not thread-safe).

The output policy lives here too (`check_target`): pmr replaces only a regular file that carries
its mark (`MARK`, which every writer puts in what it writes: an ID3 frame, a NOTE, a JSON key,
a generator element, a PNG text chunk, a comment line), or any regular file under `forcing()`
(--force). A symlink, FIFO, device, socket or folder at a target is refused and left as it is.

Temp files are named `.<target name>.<random>.part` (a helper's own temps add to that name, e.g.
`.part.mux`), so `temp_glob` finds everything a killed writer of one target left behind; the
output lock is `.<target name>.lock` beside it.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import glob
import hashlib
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from . import __version__
from .errors import OutputError

TEMP_SUFFIX = ".part"
LOCK_SUFFIX = ".lock"
_NAME_MAX = 200  # of the target's name kept in a temp name (file names stop at 255 bytes)
_CHUNK = 1 << 20
MARK = "made by pmr"  # pmr's mark in every file it writes: `mark()` is the whole text
_SNIFF_BYTES = 1 << 18  # where the mark is looked for: tags and headers come first
_ID3_MAX_BYTES = 1 << 25  # an MP3's ID3v2 tag (cover art included) is read whole, to 32 MiB
_SPECIAL = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


class Replace(enum.Enum):
    """What may stand at a target before pmr writes it."""

    OURS = "ours"  # nothing, or a regular file with pmr's mark (any regular file when forcing)
    ALWAYS = "always"  # pmr's own stores (cache clips, envelopes): any regular file
    NEVER = "never"  # nothing: FileExistsError otherwise (new templates)


_FORCE: ContextVar[bool] = ContextVar("pmr_force", default=False)


def mark() -> str:
    """The words a writer puts in its file so a later run knows pmr wrote it."""
    return f"{MARK} {__version__}"


@contextlib.contextmanager
def forcing(on: bool = True) -> Iterator[None]:
    """--force: inside, any regular file may be replaced (never a node or a link); `on` False
    keeps what an enclosing block set."""
    token = _FORCE.set(on or _FORCE.get())
    try:
        yield
    finally:
        _FORCE.reset(token)


def has_mark(path: Path) -> bool:
    """True when the start of the file carries pmr's mark (as ASCII or UTF-16, as ID3 has it)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            if head[:3] == b"ID3" and len(head) >= 10:  # an MP3: its whole ID3v2 tag
                size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
                head += handle.read(max(0, min(size + 10, _ID3_MAX_BYTES) - len(head)))
    except OSError:
        return False
    word = MARK.encode()
    return word in head or MARK.encode("utf-16-le") in head or MARK.encode("utf-16-be") in head


def check_target(
    target: Path,
    replace: Replace = Replace.OURS,
    ours: Callable[[Path], bool] = has_mark,
    error: type[Exception] = OutputError,
) -> Path:
    """The output policy: refuse (with `error`) what may not be replaced at `target`."""
    target = Path(target)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise error(f"{target}: can't look at it ({exc.strerror})") from None
    for test, kind in _SPECIAL:
        if test(info.st_mode):
            raise error(
                f"{target}: is {kind}; pmr writes only regular files and leaves it as it is; "
                "pick another path"
            )
    if replace is Replace.NEVER:
        raise FileExistsError(target)
    if replace is Replace.OURS and not _FORCE.get() and not ours(target):
        raise error(
            f"{target}: exists and pmr did not write it; pass --force to replace it, "
            "or pick another path"
        )
    return target


def temp_glob(target: Path) -> str:
    """A glob (relative to the target's folder) matching every temp file of `target`."""
    return f".{glob.escape(Path(target).name[:_NAME_MAX])}.*{TEMP_SUFFIX}*"


def lock_path(target: Path) -> Path:
    target = Path(target)
    return target.with_name(f".{target.name}{LOCK_SUFFIX}")


def new_temp(target: Path, private: bool = False) -> Path:
    """Create an empty temp file beside `target` (mode 0o666 less the umask; 0o600 when
    `private`, from its creation on, so no other user can ever open it) and return it."""
    target = Path(target)
    mode = 0o600 if private else 0o666
    for _ in range(100):
        tmp = target.with_name(f".{target.name[:_NAME_MAX]}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temp name beside {target}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(
    target: Path,
    failure: str = "can't write it",
    error: type[Exception] | None = None,
    replace: Replace = Replace.OURS,
    ours: Callable[[Path], bool] = has_mark,
    private: bool = False,
) -> Iterator[Path]:
    """A temp path beside `target` for the block to fill; fsynced and renamed onto `target`
    only when the block completes; removed on any failure. The output policy (`check_target`)
    is applied before and again just before the rename; `Replace.NEVER` never replaces an
    existing target (FileExistsError instead, even against a file that appeared meanwhile).
    With `error`, an OSError becomes `error("<target>: <failure> (<reason>)")`. `private`:
    readable by its owner only (a secret)."""
    target = Path(target)
    refusal = error or OutputError
    check_target(target, replace, ours, refusal)
    try:
        tmp = new_temp(target, private)
    except OSError as exc:
        raise _translated(exc, target, failure, error) from None
    try:
        yield tmp
        _fsync(tmp)
        if replace is not Replace.NEVER:
            check_target(target, replace, ours, refusal)
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails rather than overwrite
    except FileExistsError:
        raise
    except OSError as exc:
        raise _translated(exc, target, failure, error) from None
    finally:
        tmp.unlink(missing_ok=True)


def _translated(exc: OSError, target: Path, failure: str, error: type[Exception] | None):
    if error is None or isinstance(exc, FileExistsError):
        return exc
    return error(f"{target}: {failure} ({exc.strerror or exc})")


def write_atomic(
    target: Path,
    data: bytes | str,
    failure: str = "can't write it",
    error: type[Exception] | None = None,
    replace: Replace = Replace.OURS,
    ours: Callable[[Path], bool] = has_mark,
    private: bool = False,
) -> Path:
    """Write a whole file (str as UTF-8) through `atomic_path`; returns `target`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data

    def same_or_ours(path: Path) -> bool:  # replacing the very same bytes destroys nothing
        return ours(path) or (path.stat().st_size == len(raw) and path.read_bytes() == raw)

    with (
        atomic_path(target, failure, error, replace, same_or_ours, private) as tmp,
        open(tmp, "wb") as handle,
    ):
        handle.write(raw)
    return Path(target)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@cache
def sha256_file_cached(path: str, mtime_ns: int) -> str:
    """`sha256_file` once per (path, mtime): for inputs hashed again and again in one run."""
    return sha256_file(Path(path))


def remove_temps(folder: Path, targets: Iterable[Path]) -> None:
    """Remove the temp files of `targets` in `folder` (call only while holding their lock)."""
    for target in targets:
        for leftover in Path(folder).glob(temp_glob(target)):
            leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def output_lock(target: Path, also: Iterable[Path] = ()) -> Iterator[None]:
    """Serialize builds of the same output across processes, and clear what a killed build left.

    The lock is a hidden file beside the target, held with flock and removed on release; a
    waiter that wakes up on a lock file someone else already removed tries again. While it is
    held, temp files of `target` (and of `also`, e.g. its sidecars) left by an earlier build
    that was killed (SIGKILL, power loss) are removed: nobody else can be writing them.
    """
    target = Path(target)
    path = lock_path(target)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        remove_temps(target.parent, (target, *also))
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def sweep_if_unlocked(target: Path, also: Iterable[Path] = ()) -> None:
    """Remove the temp files and the lock file of `target` (and `also`) unless a build of it
    is running (holds its lock): what stopped workers may have left behind."""
    target = Path(target)
    path = lock_path(target)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: another build of this output is running
        os.close(fd)
        return
    try:
        remove_temps(target.parent, (target, *also))
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)
