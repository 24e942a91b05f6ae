"""Safe file writing: every output appears complete or not at all, and concurrent runs never clash.

An output is written to a hidden temporary file in its own folder and renamed into place. The writer
holds an exclusive lock on that temporary file until the rename, so a later run can tell a file left by a
killed run (nobody holds its lock: the kernel drops locks when a process dies) from one that another run
is still writing (locked): only the former is removed.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; fall back to the age of the file
    fcntl = None

TEMP_SUFFIX = ".colorplug-tmp"
STALE_AFTER_S = 10.0  # never treat a temporary file younger than this as stale (it may be being created)
UNLOCKED_STALE_AFTER_S = 24 * 3600.0  # where locks are unavailable, only files this old count as stale


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM): raised like Ctrl-C, so every temporary file is removed."""


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM raise Terminated in the main thread (a program's entry point calls this), so a run
    stopped while writing leaves no temporary or partial file, as Ctrl-C does; no-op off the main thread."""

    def terminate(signum: int, frame: object) -> None:
        raise Terminated(f"terminated by signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminate)


def temp_sibling(target: Path) -> Path:
    """A hidden, unique temporary name in the target's folder (same file system, so rename is atomic).

    The name does not include the target's, so a target name of 255 bytes still has a temporary one.
    """
    return target.with_name(f".{os.urandom(8).hex()}{TEMP_SUFFIX}")


def is_temp_file(path: Path) -> bool:
    """Whether a path is named like one of our temporary files."""
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock without waiting; False when another process holds one."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class OutputExistsError(FileExistsError):
    """The target appeared while it was being written (another run finished it first) and may not be
    replaced."""


def _renameat2_no_replace(source: Path, target: Path) -> bool:
    """rename(2) that fails with EEXIST instead of replacing (Linux renameat2 RENAME_NOREPLACE); False
    where the C library or the file system does not offer it."""
    libc = _libc()
    function = getattr(libc, "renameat2", None) if libc is not None else None
    if function is None:
        return False
    at_cwd, no_replace = -100, 1  # AT_FDCWD, RENAME_NOREPLACE
    result = function(at_cwd, os.fsencode(source), at_cwd, os.fsencode(target), no_replace)
    if result == 0:
        return True
    import ctypes  # here, not at the top: start-up time of every command

    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.EOPNOTSUPP):
        return False  # e.g. a file system without the flag: try the next way
    raise OSError(error, os.strerror(error), str(target))


@functools.lru_cache(maxsize=1)
def _libc():
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def rename_no_replace(source: Path, target: Path) -> None:
    """Move `source` to `target` atomically, refusing (FileExistsError) when `target` exists at that
    moment: renameat2's RENAME_NOREPLACE, else a hard link and an unlink, else (file systems with neither)
    a check just before an ordinary rename.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "a").write_text("new"); (folder / "b").write_text("theirs")
    3
    6
    >>> rename_no_replace(folder / "a", folder / "b")
    Traceback (most recent call last):
    ...
    FileExistsError: [Errno 17] File exists: ...
    """
    if sys.platform.startswith("linux") and _renameat2_no_replace(source, target):
        return
    try:
        os.link(source, target)  # fails with FileExistsError when target exists
    except FileExistsError:
        raise
    except OSError:  # no hard links here (FAT, some network file systems)
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.replace(source, target)
        return
    os.unlink(source)


@contextlib.contextmanager
def atomic_path(target: Path, fsync: bool = True, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed over `target`, on error removed.

    The temporary file is created (exclusively) and locked before it is handed out. With `replace`
    False, a `target` that exists by the time of the rename is left as it is (OutputExistsError).
    """
    temp = temp_sibling(target)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if fcntl is None:  # no lock to hold (and Windows cannot rename a file that is open)
            os.close(fd)
            fd = -1
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield temp
        if fsync:
            with open(temp, "rb+") as handle:  # the data written through any descriptor of the file
                os.fsync(handle.fileno())
        if replace:
            os.replace(temp, target)
        else:
            try:
                rename_no_replace(temp, target)
            except FileExistsError:
                message = "written meanwhile by another run"
                raise OutputExistsError(errno.EEXIST, message, str(target)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        if fd >= 0:
            os.close(fd)


def is_stale_temp(path: Path) -> bool:
    """Whether one of our temporary files was provably left behind: nobody holds its lock (and it is
    not brand new); where locks are unavailable, only when it is a day old."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        age = time.time() - os.fstat(fd).st_mtime
        if fcntl is None:
            return age > UNLOCKED_STALE_AFTER_S
        return age > STALE_AFTER_S and _try_lock(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: Path) -> int:
    """Delete the temporary files that killed runs left under `folder`; returns how many."""
    removed = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            path = Path(parent, name)
            if is_temp_file(path) and is_stale_temp(path):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
    return removed


def display_path(path: os.PathLike | str) -> str:
    """A path as one printable line: control characters (newlines in names) escaped, undecodable bytes
    shown as \\x.. escapes, so an error message about any file stays a single readable line."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
