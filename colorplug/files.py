"""Safe file writing: every output appears complete or not at all."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

TEMP_SUFFIX = ".colorplug-tmp"


def temp_sibling(target: Path) -> Path:
    """A hidden, unique temporary name in the target's folder (same file system, so rename is atomic)."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def is_temp_file(path: Path) -> bool:
    """Whether a path is one of our own leftover temporary files."""
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


@contextlib.contextmanager
def atomic_path(target: Path, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed over `target`, on error removed."""
    temp = temp_sibling(target)
    try:
        yield temp
        if fsync:
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def display_path(path: os.PathLike | str) -> str:
    """A path as one printable line: control characters (newlines in names) escaped, undecodable bytes
    shown as \\x.. escapes, so an error message about any file stays a single readable line."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
