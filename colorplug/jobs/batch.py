"""Colorizing many files: decoding and encoding can overlap with batched inference in worker threads.

Pillow, numpy and torch release the GIL in their heavy loops, so threads overlap without copying images
between processes; on a CPU of two cores or fewer the network already keeps every core busy, and there
the work runs in the calling thread (see default_workers). Each file succeeds or fails on its own.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from colorplug.color.confidence import to_full_size
from colorplug.engine.colorizer import Colorizer
from colorplug.engine.prepared import Prepared
from colorplug.errors import ColorplugError
from colorplug.io.decode import is_lossless_webp, load_picture
from colorplug.io.encode import check_fits, format_for_suffix, save_picture, save_striped
from colorplug.io.files import display_path
from colorplug.io.formats import ALPHA_FORMATS, SIXTEEN_BIT_FORMATS
from colorplug.io.graymap import save_gray_map
from colorplug.jobs.plan import Job

PIXEL_BUDGET = 16_000_000  # full-size pixels held waiting for a batch or read ahead


@dataclass
class JobResult:
    """The outcome of one job: error is None on success (else what went wrong, as raised: a front end
    words it, see errors.one_line); notes are warnings worth showing."""

    job: Job
    error: Exception | None = None
    written: Path | None = None
    notes: list[str] = field(default_factory=list)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _load(colorizer: Colorizer, job: Job) -> Prepared:
    picture = load_picture(job.source, colorizer.max_pixels)
    if not job.keep_output:
        check_fits(job.target.suffix, picture.width, picture.height)  # before the work, not after
    return colorizer.prepare(picture, job.hints, job.reference)


def _output_depth(prepared: Prepared, target: Path) -> type | None:
    """uint8 for a photo without alpha bound for an 8-bit format (a 16-bit one is then composed at 8 bits:
    no full-size 16-bit RGB to round), else None (the photo's own depth)."""
    eight_bit_file = format_for_suffix(target.suffix) not in SIXTEEN_BIT_FORMATS
    return np.uint8 if eight_bit_file and prepared.picture.alpha is None else None


def _finish_and_save(colorizer: Colorizer, job: Job, prepared: Prepared, ab: torch.Tensor) -> JobResult:
    """Compose the full-size result and write it (and its confidence map when the job has one: then `ab`
    is (ab, confidence)); any failure becomes this job's error."""
    if job.confidence is not None:
        ab, confidence = ab
    try:
        target = job.target
        notes = [*prepared.picture.notes, *([job.note] if job.note else [])]
        if prepared.picture.alpha is not None and format_for_suffix(target.suffix) not in ALPHA_FORMATS:
            raise ColorplugError(
                f"has transparency its header did not declare, which {target.suffix} cannot hold"
            )
        if _same_file(target, job.source):
            raise ColorplugError("refusing to write over the input file")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ColorplugError(f"cannot create {display_path(target.parent)}: {exc.strerror}") from None
        if not job.keep_output:
            _save_result(colorizer, job, prepared, ab)
        if job.confidence is not None:
            save_gray_map(to_full_size(confidence[0], prepared.full_shape), job.confidence)
        return JobResult(job, written=job.confidence if job.keep_output else target, notes=notes)
    except Exception as exc:  # one file's failure must not stop the others
        return JobResult(job, error=exc)


def _save_result(colorizer: Colorizer, job: Job, prepared: Prepared, ab: torch.Tensor) -> None:
    """Compose and write a job's output with no full-size copy: a TIFF in strips, a JPEG from RGBX samples."""
    depth, fmt, target = _output_depth(prepared, job.target), format_for_suffix(job.target.suffix), job.target
    if fmt == "TIFF":
        return save_striped(colorizer.finish_strips(prepared, ab, depth), target, overwrite=job.overwrite)
    lossless = fmt == "WEBP" and is_lossless_webp(job.source)  # read only for a WebP output
    picture = colorizer.finish(prepared, ab, depth, fmt == "JPEG")
    save_picture(picture, target, overwrite=job.overwrite, lossless=lossless)


class _Inline(contextlib.AbstractContextManager):
    """An executor running each task at once in the calling thread (workers=0)."""

    def submit(self, function, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as exc:  # delivered through the future, as a thread pool would
            future.set_exception(exc)
        return future

    def __exit__(self, *exc_info) -> None:
        return None


def default_workers(colorizer: Colorizer) -> int:
    """Threads for decoding/encoding: none on a CPU of two cores or fewer, where the network already
    keeps every core busy and extra threads only contend (measured: 26 img/s serial, 22 with threads)."""
    return 0 if colorizer.device.type == "cpu" and (os.cpu_count() or 1) <= 2 else 2


def _executor(workers: int, name: str):
    return ThreadPoolExecutor(workers, thread_name_prefix=name) if workers > 0 else _Inline()


def run_jobs(colorizer: Colorizer, jobs: Sequence[Job], workers: int | None = None) -> Iterator[JobResult]:
    """Colorize every job, yielding one JobResult per job (roughly in input order).

    Loading runs up to a window of files ahead; pictures wait per render shape until a batch is full
    (or the inputs end); composing and saving run in the saver threads while the network goes on.
    `workers` None picks default_workers(); 0 does everything in the calling thread.
    """
    workers = default_workers(colorizer) if workers is None else workers
    budget = PIXEL_BUDGET
    batch_size = colorizer.batch_size
    window = batch_size + workers
    with _executor(workers, "colorplug-load") as loaders, _executor(workers, "colorplug-save") as savers:
        loading: deque[tuple[Job, Future]] = deque()
        saving: deque[Future] = deque()
        waiting: dict[tuple[int, int], list[tuple[Job, Prepared]]] = {}
        queue = iter(jobs)

        def infer(group: list[tuple[Job, Prepared]]) -> list[JobResult]:
            try:
                sure = any(job.confidence is not None for job, _ in group)
                predictions = colorizer.predict_prepared([prepared for _, prepared in group], sure)
            except (RuntimeError, MemoryError) as exc:  # e.g. out of memory on the device
                return [JobResult(job, error=exc) for job, _ in group]
            for (job, prepared), ab in zip(group, predictions, strict=True):
                saving.append(savers.submit(_finish_and_save, colorizer, job, prepared, ab))
            return []

        while True:
            while len(loading) < window and (job := next(queue, None)) is not None:
                loading.append((job, loaders.submit(_load, colorizer, job)))
            if not loading:
                break
            job, future = loading.popleft()
            try:
                prepared = future.result()
            except Exception as exc:  # unreadable input: report it, go on with the rest
                yield JobResult(job, error=exc)
                continue
            pixels = prepared.picture.height * prepared.picture.width
            window = max(workers + 1, min(batch_size + workers, budget // max(1, pixels)))
            group = waiting.setdefault(prepared.shape, [])
            group.append((job, prepared))
            if len(group) >= batch_size or pixels * len(group) > budget:
                yield from infer(waiting.pop(prepared.shape))
            while len(saving) > 2 * workers:
                yield saving.popleft().result()
        for group in waiting.values():
            yield from infer(group)
        for future in saving:
            yield future.result()
