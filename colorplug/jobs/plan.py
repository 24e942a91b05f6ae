"""Deciding where each input's colorized copy goes, before any pixel is read.

Every output name, the fallback to .png for transparency included, is decided here and passes one check:
never an input file, never outside the output folder, never the output of two inputs, and never an
existing file unless overwriting is asked for (existing outputs are skipped, so an interrupted run is
simply started again). Outputs never become inputs: files found in folders or by patterns that say
colorplug made them (see provenance.py) are left out, and neither the output folder nor the hints folder
is searched when it lies inside an input folder. A file the user names directly is always taken.
`shard` splits the work for several machines by the output's name without its extension, so inputs that
could collide (a.gif and a.png) always land in the same shard, where the check sees them.
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

from colorplug.errors import ColorplugError, SettingError
from colorplug.io.decode import declares_alpha
from colorplug.io.files import display_path
from colorplug.io.formats import ALPHA_FORMATS, FORMATS
from colorplug.io.provenance import is_colorplug_output
from colorplug.jobs.inputs import IMAGE_SUFFIXES, InputFile

DEFAULT_SUFFIX = ".png"  # for inputs whose own type cannot be written (e.g. .gif), and for transparency
CONFIDENCE_SUFFIX = "_confidence.png"  # the confidence map beside an output: <output stem>_confidence.png


@dataclass(frozen=True)
class Job:
    """One input file and where its colorized version goes."""

    source: Path
    target: Path
    hints: Path | None = None  # the hint image of this photo, if any
    reference: Path | None = None  # the reference photo to take colours from, if any
    note: str | None = None  # said when the job is done (e.g. the output type changed for transparency)
    overwrite: bool = False  # whether the output may replace a file (else never, even one made meanwhile)
    confidence: Path | None = None  # where its confidence map goes, when asked for
    keep_output: bool = False  # the output is already there (a rerun adding the map): write only the map


@dataclass
class Plan:
    """Jobs to do, outputs already there, and inputs that cannot be planned (one line each)."""

    jobs: list[Job] = field(default_factory=list)
    existing: list[Job] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)
    earlier_outputs: list[Path] = field(default_factory=list)  # colorplug's outputs found among the inputs


def in_shard(relative: Path, index: int, count: int) -> bool:
    """Whether a relative path belongs to shard `index` of `count`: a hash of the path, so the split is
    the same on every machine whatever order the file system lists files in."""
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


def hint_files(
    hints: Path | None, inputs: list[InputFile], given: int | None = None
) -> dict[Path, Path | str]:
    """Each input's hint image (or a one-line problem): `hints` is one hint image for one photo, or a
    folder holding hint images under the photos' relative paths and names, with any image extension
    (colorplug's own outputs there are not hint images). Photos with no hint image are left out.
    `given` is how many photos were given in all, every shard together (default: len(inputs))."""
    if hints is None:
        return {}
    if not hints.is_dir():
        count = len(inputs) if given is None else given
        if count != 1:
            raise SettingError(
                "{hints} {path} is one hint image but {count} were given: "
                "give a folder of hint images named like the photos",
                ["hints"],
                path=display_path(hints),
                count="no photo" if count == 0 else f"{count} photos" if given is None else "several photos",
            )
        return {inputs[0].path: hints} if inputs else {}
    return paired_files(hints, inputs, "hint images", "hints")


def paired_files(folder: Path, inputs: list[InputFile], kind: str, setting: str) -> dict[Path, Path | str]:
    """Each input's file in `folder` under its relative path and name, with any image extension (or a
    one-line problem when there are several; colorplug's own outputs are left out); none: left out.
    A `folder` that holds the photos themselves is refused (`setting` names it in the message)."""
    found: dict[Path, Path | str] = {}
    for item in inputs:
        pattern = str(folder / item.relative.parent / glob.escape(item.relative.stem)) + ".*"
        matches = sorted(
            Path(p)
            for p in glob.glob(pattern)
            if Path(p).suffix.lower() in IMAGE_SUFFIXES and not is_colorplug_output(Path(p))
        )
        if any(_same_file(match, item.path) for match in matches):
            raise SettingError(
                f"{{{setting}}} {{path}} holds the photos themselves (each would be its own, gray, "
                f"{kind[:-1]}): give the folder of {kind}",
                [setting],
                path=display_path(folder),
            )
        if len(matches) > 1:
            found[item.path] = f"several {kind}: " + ", ".join(p.name for p in matches)
        elif matches:
            found[item.path] = matches[0]
    return found


def _unpaired_note(folder: Path | None, paired: Path | str | None) -> str | None:
    """The note of a photo that a reference folder holds no reference for (it is colorized without)."""
    if folder is None or paired is not None:
        return None
    return f"no reference photo under its name in {display_path(folder)}: colorized without one"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _pairing_problem(*paired: Path | str | None) -> str | None:
    """The first one-line problem (a str) among a photo's paired files (hint image, reference), if any."""
    return next((found for found in paired if isinstance(found, str)), None)


def _photos_given(items: list[InputFile]) -> int:
    """How many photos were given, every shard together (colorplug's earlier outputs among them are
    not photos), counted up to 2: all a single hint image needs to know."""
    photos = (item for item in items if item.named or not is_colorplug_output(item.path))
    return sum(1 for _ in itertools.islice(photos, 2))


def reference_files(
    reference: Path | None, folder: Path | None, inputs: list[InputFile]
) -> dict[Path, Path | str]:
    """Each input's reference photo: `reference` for all of them, else the one in `folder` under the
    input's relative path and name (see paired_files); photos without one are left out."""
    if reference is not None:
        return {item.path: reference for item in inputs}
    return {} if folder is None else paired_files(folder, inputs, "reference photos", "reference_folder")


def _inside(child: Path | str, parent: Path | str) -> bool:
    child_real, parent_real = os.path.realpath(child), os.path.realpath(parent)
    return os.path.commonpath([child_real, parent_real]) == parent_real


def _root_of(item: InputFile) -> Path:
    """The folder an input was found in (its path without its relative part)."""
    path = item.path
    for _ in item.relative.parts:
        path = path.parent
    return path


def _in_subfolder(item: InputFile, folder: Path) -> bool:
    """Whether an input was found inside `folder`, a subfolder of the folder the search started in."""
    root = _root_of(item)
    nested = _inside(folder, root) and os.path.realpath(folder) != os.path.realpath(root)
    return nested and _inside(item.path, folder)


def plan_jobs(
    inputs: list[InputFile],
    out_dir: Path,
    *,
    fmt: str | None = None,
    name_suffix: str = "",
    overwrite: bool = False,
    shard: tuple[int, int] = (1, 1),
    hints: Path | None = None,
    reference: Path | None = None,
    reference_folder: Path | None = None,
    confidence: bool = False,
) -> Plan:
    """Map inputs to outputs under `out_dir` (see the module docstring); with `confidence`, each job's
    confidence map too (`<output stem>_confidence.png`, checked like the output; a job is skipped only
    when both exist)."""
    if os.sep in name_suffix or (os.altsep and os.altsep in name_suffix):
        raise SettingError("{name_suffix} must not contain a path separator", ["name_suffix"])
    skipped_folders = [out_dir, *([hints] if hints is not None and hints.is_dir() else [])]
    skipped_folders += [reference_folder] if reference_folder is not None else []
    searched = [item for item in inputs if not any(_in_subfolder(item, folder) for folder in skipped_folders)]
    plan = Plan()
    planned = [_output_of(item, out_dir, fmt, name_suffix, shard, plan) for item in searched]
    planned = [output for output in planned if output is not None]
    given = _photos_given(searched) if hints is not None and not hints.is_dir() else None
    hinted = hint_files(hints, [output.item for output in planned], given)
    referenced = reference_files(reference, reference_folder, [output.item for output in planned])
    # every input stays protected, those in skipped folders too: a user's own file is never overwritten
    protected = {os.path.realpath(item.path): item for item in inputs}
    read = [*hinted.values(), *referenced.values()]
    protected |= {os.path.realpath(path): None for path in read if isinstance(path, Path)}
    claimed: dict[str, Path] = {}
    for output in planned:
        hint, paired = hinted.get(output.item.path), referenced.get(output.item.path)
        targets = [output.target, *([confidence_target(output.target)] if confidence else [])]
        problem = _pairing_problem(hint, paired) or _refusals(targets, out_dir, protected, claimed)
        if problem:
            plan.problems.append((output.item.path, problem))
            continue
        claimed.update({os.path.realpath(target): output.item.path for target in targets})
        maps = targets[1] if confidence else None
        kept = os.path.lexists(output.target) and not overwrite
        note = "; ".join(filter(None, [output.note, _unpaired_note(reference_folder, paired)])) or None
        job = Job(output.item.path, output.target, hint, paired, note, overwrite, maps, kept)
        done = all(os.path.lexists(target) for target in targets) and not overwrite
        (plan.existing if done else plan.jobs).append(job)
    return plan


@dataclass(frozen=True)
class _Output:
    """Where an input's result goes, before the checks against the other inputs and outputs."""

    item: InputFile
    target: Path
    note: str | None


def _output_of(
    item: InputFile, out_dir: Path, fmt: str | None, name_suffix: str, shard: tuple[int, int], plan: Plan
) -> _Output | None:
    """The output of one input, or None when it is not this shard's, an earlier output of colorplug
    (recorded in `plan`) or cannot be placed inside the output folder (a problem in `plan`)."""
    relative = item.relative
    if relative.is_absolute() or ".." in relative.parts:
        plan.problems.append((item.path, "input path would place its output outside the output folder"))
        return None
    stem = relative.with_name(relative.stem + name_suffix)
    if not in_shard(stem, *shard):
        return None
    if not item.named and is_colorplug_output(item.path):
        plan.earlier_outputs.append(item.path)
        return None
    suffix, note = output_suffix(item.path, fmt), None
    if FORMATS[suffix] not in ALPHA_FORMATS and declares_alpha(item.path):
        note = f"has transparency, which {suffix} cannot hold: wrote {DEFAULT_SUFFIX}"
        suffix = DEFAULT_SUFFIX
    return _Output(item, out_dir / stem.with_name(stem.name + suffix), note)


def confidence_target(target: Path) -> Path:
    """Where the confidence map of an output goes.

    >>> confidence_target(Path("out/photo.jpg")).as_posix()
    'out/photo_confidence.png'
    """
    return target.with_name(target.stem + CONFIDENCE_SUFFIX)


def _refusals(
    targets: list[Path], out_dir: Path, protected: dict[str, InputFile | None], claimed: dict[str, Path]
) -> str | None:
    """The first reason one of a job's files may not be written (see _refusal), else None."""
    return next((why for target in targets if (why := _refusal(target, out_dir, protected, claimed))), None)


def _refusal(
    target: Path, out_dir: Path, protected: dict[str, InputFile | None], claimed: dict[str, Path]
) -> str | None:
    """Why an output may not be written (outside the output folder, an input, another's), else None."""
    real_target = os.path.realpath(target)
    if not _inside(target, out_dir):
        return f"output {display_path(target)} would leave the output folder (a link?)"
    if real_target in protected and _is_a_photo(protected[real_target]):
        refusal = "refusing to overwrite it (choose another output folder or a name suffix)"
        return f"output {display_path(target)} is an input file: {refusal}"
    if real_target in claimed:
        return f"output {display_path(target)} is also the output of {display_path(claimed[real_target])}"
    if os.path.isdir(target):
        return f"output {display_path(target)} is a folder: move it or choose another output folder"
    return None


def _is_a_photo(item: InputFile | None) -> bool:
    """Whether a file the run reads must be protected: a hint image (None), a photo the user named, or a
    photo that is not an earlier output of colorplug (those are outputs, replaced only when overwriting)."""
    return item is None or item.named or not is_colorplug_output(item.path)
