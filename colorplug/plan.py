"""Deciding where each input's colorized copy goes, before any pixel is read.

Folder trees are mirrored under the output folder; an output never replaces an input and never lands
outside the output folder; existing outputs are skipped unless overwriting is asked for, so an
interrupted run can simply be started again. `shard` splits the list for several machines.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from colorplug.errors import ColorplugError
from colorplug.files import is_temp_file
from colorplug.images import FORMATS
from colorplug.inputs import InputFile

DEFAULT_SUFFIX = ".png"  # for inputs whose own type cannot be written (e.g. .gif)


@dataclass(frozen=True)
class Job:
    """One input file and where its colorized version goes."""

    source: Path
    target: Path


@dataclass
class Plan:
    """Jobs to do, outputs already there, and inputs that cannot be planned (one line each)."""

    jobs: list[Job] = field(default_factory=list)
    existing: list[Job] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' with 1 <= I <= N -> (I, N)."""
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise ColorplugError(f"--shard must look like I/N (e.g. 2/8), got {text!r}") from None
    if not 1 <= index <= count:
        raise ColorplugError(f"--shard {text}: need 1 <= I <= N")
    return index, count


def in_shard(relative: Path, index: int, count: int) -> bool:
    """Whether a file belongs to shard `index` of `count`: a hash of its relative path, so the split
    is the same on every machine whatever order the file system lists files in."""
    if count == 1:
        return True
    digest = hashlib.sha256(relative.as_posix().encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def output_suffix(source: Path, fmt: str | None) -> str:
    """The output's suffix: the requested format's, else the input's own when it can be written."""
    if fmt:
        suffix = "." + fmt.lower().lstrip(".")
        if suffix not in FORMATS:
            raise ColorplugError(f"unknown output format {fmt!r} (use {', '.join(sorted(FORMATS))})")
        return suffix
    return source.suffix.lower() if source.suffix.lower() in FORMATS else DEFAULT_SUFFIX


def _inside(child: Path, parent: Path) -> bool:
    child_real, parent_real = os.path.realpath(child), os.path.realpath(parent)
    return os.path.commonpath([child_real, parent_real]) == parent_real


def plan_jobs(
    inputs: list[InputFile],
    out_dir: Path,
    fmt: str | None = None,
    name_suffix: str = "",
    overwrite: bool = False,
    shard: tuple[int, int] = (1, 1),
) -> Plan:
    """Map inputs to outputs under `out_dir` (see the module docstring)."""
    if os.sep in name_suffix or (os.altsep and os.altsep in name_suffix):
        raise ColorplugError("--suffix must not contain a path separator")
    plan = Plan()
    sources = {os.path.realpath(item.path) for item in inputs}
    claimed: dict[str, Path] = {}
    for item in inputs:
        if not in_shard(item.relative, *shard) or is_temp_file(item.path):
            continue
        relative = item.relative
        if relative.is_absolute() or ".." in relative.parts:
            plan.problems.append((item.path, "input path would place its output outside the output folder"))
            continue
        target = out_dir / relative.with_name(relative.stem + name_suffix + output_suffix(item.path, fmt))
        real_target = os.path.realpath(target)
        if not _inside(target, out_dir):
            plan.problems.append((item.path, f"output {target} would leave the output folder (a link?)"))
        elif real_target in sources:
            plan.problems.append(
                (
                    item.path,
                    f"output {target} is an input file: refusing to overwrite "
                    "it (choose another -o or a --suffix)",
                )
            )
        elif real_target in claimed:
            plan.problems.append((item.path, f"output {target} is also the output of {claimed[real_target]}"))
        else:
            claimed[real_target] = item.path
            job = Job(item.path, target)
            (plan.existing if target.exists() and not overwrite else plan.jobs).append(job)
    return plan


def remove_stale_temporaries(out_dir: Path) -> int:
    """Delete our own hidden temporary files left in `out_dir` by a killed run; returns how many."""
    removed = 0
    for folder, _, names in os.walk(out_dir):
        for name in names:
            path = Path(folder, name)
            if is_temp_file(path):
                path.unlink(missing_ok=True)
                removed += 1
    return removed
