"""Turning the user's INPUT arguments (files, folders, globs) into a sorted list of image files."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif"})


@dataclass(frozen=True)
class InputFile:
    """An image file and its path relative to the folder it was found in (for mirroring)."""

    path: Path
    relative: Path


def _walk_images(root: Path) -> list[InputFile]:
    """Image files under a folder, following folder links once each (symlink loops end)."""
    found = []
    seen = set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(names):
            path = Path(folder, name)
            if path.suffix.lower() in IMAGE_SUFFIXES and not name.startswith("."):
                found.append(InputFile(path, path.relative_to(root)))
    return found


def find_images(arguments: list[str]) -> tuple[list[InputFile], list[tuple[str, str]]]:
    """Expand files, folders (recursively) and glob patterns; return (images, (argument, problem)s).

    A file named directly is taken whatever its suffix (so odd names still get a clear error later);
    folder contents are filtered by image suffix. Duplicates are dropped, order is stable and sorted.
    """
    images: list[InputFile] = []
    problems: list[tuple[str, str]] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            images.extend(_walk_images(path))
        elif path.exists() or path.is_symlink():
            images.append(InputFile(path, Path(path.name)))
        elif glob.has_magic(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                problems.append((argument, "no file matches this pattern"))
            for match in matches:
                matched = Path(match)
                if matched.is_dir():
                    images.extend(_walk_images(matched))
                elif matched.suffix.lower() in IMAGE_SUFFIXES:
                    images.append(InputFile(matched, Path(matched.name)))
        else:
            problems.append((argument, "no such file or folder"))
    unique: dict[str, InputFile] = {}
    for item in images:
        unique.setdefault(os.path.abspath(item.path), item)
    return list(unique.values()), problems
