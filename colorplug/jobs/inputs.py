"""Turning the user's INPUT arguments (files, folders, globs) into a sorted list of image files."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from colorplug.io.decode import not_a_regular_file

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif"})
Problem = tuple[str, str]  # (what, why), one line each


@dataclass(frozen=True)
class InputFile:
    """An image file and its path relative to the folder it was found in (for mirroring); `named` when
    the user named this very file (not found in a folder or by a pattern)."""

    path: Path
    relative: Path
    named: bool = False


class _Found:
    """Images and problems gathered while expanding the arguments."""

    def __init__(self) -> None:
        self.images: list[InputFile] = []
        self.problems: list[Problem] = []

    def add_file(self, path: Path, relative: Path, named: bool = False) -> None:
        """Take a file, unless it is a named pipe, socket or device: reported now, never opened (reading
        one can block forever). A missing or unreadable file is taken: loading it says why."""
        try:
            why = not_a_regular_file(path)
        except OSError:
            why = None
        if why:
            self.problems.append((str(path), why))
        else:
            self.images.append(InputFile(path, relative, named))

    def walk(self, root: Path) -> None:
        """Image files under a folder, following folder links once each (symlink loops end); folders that
        cannot be read (permission denied...) are problems, which os.walk would skip without a word."""
        seen = set()

        def unreadable(error: OSError) -> None:
            self.problems.append(
                (error.filename or str(root), f"cannot read this folder: {error.strerror or error}")
            )

        for folder, subfolders, names in os.walk(root, onerror=unreadable, followlinks=True):
            real = os.path.realpath(folder)
            if real in seen:
                subfolders[:] = []
                continue
            seen.add(real)
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(names):
                path = Path(folder, name)
                if path.suffix.lower() in IMAGE_SUFFIXES and not name.startswith("."):
                    self.add_file(path, path.relative_to(root))


def find_images(arguments: list[str]) -> tuple[list[InputFile], list[Problem]]:
    """Expand files, folders (recursively) and glob patterns; return (images, (argument, problem)s).

    A file named directly is taken whatever its suffix (so odd names still get a clear error later);
    folder contents are filtered by image suffix; an empty argument (an unset shell variable) is a problem,
    not the current folder. Duplicates are dropped, order is stable and sorted.
    """
    found = _Found()
    for argument in arguments:
        path = Path(argument)
        if not argument:
            found.problems.append((argument, "empty name given as input (an unset variable?)"))
        elif path.is_dir():
            found.walk(path)
        elif path.exists() or path.is_symlink():
            found.add_file(path, Path(path.name), named=True)
        elif glob.has_magic(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                found.problems.append((argument, "no file matches this pattern"))
            for match in matches:
                matched = Path(match)
                if matched.is_dir():
                    found.walk(matched)
                elif matched.suffix.lower() in IMAGE_SUFFIXES:
                    found.add_file(matched, Path(matched.name))
        else:
            found.problems.append((argument, "no such file or folder"))
    unique: dict[str, InputFile] = {}
    for item in found.images:
        unique.setdefault(os.path.abspath(item.path), item)
    return list(unique.values()), found.problems
