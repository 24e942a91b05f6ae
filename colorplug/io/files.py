"""Safe file writing: every output appears complete or not at all, and concurrent runs never clash.

An output is written to a hidden temporary file in its own folder and renamed into place. The writer
holds an exclusive lock on that temporary file until the rename, so a later run can tell a file left by a
killed run (nobody holds its lock: the kernel drops locks when a process dies) from one that another run
is still writing (locked): only the former is removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
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


def temp_sibling(target: Path) -> Path:
    """A hidden, unique temporary name in the target's folder (same file system, so rename is atomic).

    The name does not include the target's, so a target name of 255 bytes still has a temporary one.
    """
    return target.with_name(f".{secrets.token_hex(8)}{TEMP_SUFFIX}")


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


@contextlib.contextmanager
def atomic_path(target: Path, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed over `target`, on error removed.

    The temporary file is created (exclusively) and locked before it is handed out.
    """
    temp = temp_sibling(target)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    if fcntl is None:  # no lock to hold (and Windows cannot rename a file that is open)
        os.close(fd)
        fd = -1
    else:
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield temp
        if fsync:
            with open(temp, "rb+") as handle:  # the data written through any descriptor of the file
                os.fsync(handle.fileno())
        os.replace(temp, target)
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
