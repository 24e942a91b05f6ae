"""`colorplug run`: parse the options, hand off to the jobs layer's RunJob, report each file's outcome."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from colorplug_cli.messages import say
from colorplug_cli.options import (
    batch_option,
    decoder_option,
    device_option,
    quiet_option,
    render_option,
    vividness_option,
    weights_option,
)
from colorplug_cli.progress import ProgressLine
from colorplug_cli.types import FiniteFloatRange, ShardType

from colorplug.defaults import DEFAULT_MAX_PIXELS, DEFAULT_SATURATION, MAX_SATURATION
from colorplug.io.files import display_path
from colorplug.io.formats import OUTPUT_TYPES

RUN_JOB_SETTINGS = (
    "hints",
    "fmt",
    "name_suffix",
    "overwrite",
    "shard",
    "reference",
    "reference_folder",
    "confidence",
)  # how the outputs are planned


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the results (input folder trees are mirrored inside it).",
)
@weights_option
@render_option
@click.option(
    "--saturation",
    default=DEFAULT_SATURATION,
    show_default=True,
    type=FiniteFloatRange(0, MAX_SATURATION),
    help="Scale the predicted colour (0 gives gray, >1 more vivid).",
)
@vividness_option
@decoder_option
@click.option(
    "--hints",
    type=click.Path(exists=True, path_type=Path),
    help="Colour hints: a hint image (opaque pixels give colours to follow), or with folders a folder "
    "of hint images under the same relative paths and names (any image extension).",
)
@click.option(
    "--reference",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A colour photo of similar content to take colours from, for every photo (a series: e.g. one "
    "key photo colorized with hints).",
)
@click.option(
    "--reference-folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of reference photos under the photos' relative paths and names (any image extension).",
)
@device_option
@batch_option
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(0, 64),
    help="Threads decoding and encoding beside the network (default: 0 on a CPU of <= 2 cores, else 2).",
)
@click.option(
    "--format",
    "fmt",
    default=None,
    type=click.Choice(OUTPUT_TYPES),
    help="Output type (default: the input's own; .png for GIF and BMP, and for transparency in JPEG).",
)
@click.option(
    "--suffix",
    "name_suffix",
    default="",
    metavar="TEXT",
    help="Text added to each output name, e.g. _color.",
)
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist (never inputs).")
@click.option(
    "--confidence",
    is_flag=True,
    help="Also write <output stem>_confidence.png beside each output: 8-bit gray, 255 = most certain.",
)
@click.option(
    "--max-pixels",
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse images declaring more pixels (decompression bombs).",
)
@click.option(
    "--shard",
    default="1/1",
    show_default=True,
    type=ShardType(),
    help="Do only the I-th of N deterministic parts of the input list (several machines).",
)
@quiet_option
def run(inputs: tuple[str, ...], out_dir: Path, workers: int | None, quiet: bool, **settings) -> None:
    """Colorize image files, folders (recursively) and glob patterns into OUT.

    \b
    Examples:
      colorplug run scan.jpg -o out/
      colorplug run archive/ 'extra/*.png' -o colorized/ --format png
      colorplug run photos/ -o photos/ --suffix _color      # next to the originals
      colorplug run wedding/ -o out/ --reference out/key.jpg  # one look across a series
    """
    from colorplug.jobs.run import RunJob

    naming = {key: settings.pop(key) for key in RUN_JOB_SETTINGS}  # the rest are the Colorizer's
    if naming["reference"] and naming["reference_folder"]:
        raise click.UsageError("give --reference or --reference-folder, not both")
    job = RunJob(inputs, out_dir, **naming)
    report = RunReport(len(job.plan.jobs), quiet)
    for what, why in job.problems:
        report.failed(what, why)
    if job.found_nothing:
        sys.exit(1)
    report.note_earlier_outputs(len(job.plan.earlier_outputs))
    report.start_clock()
    from colorplug.engine.colorizer import Colorizer

    # the weights read and every option checked against them before any folder is made, even when every
    # output exists already: a refused run is refused on every rerun, and leaves nothing behind
    colorizer = Colorizer(**settings)
    job.check_colorizer(colorizer)
    job.prepare_output()
    if job.plan.jobs:
        report.follow(job.colorize(colorizer, workers))
    report.finish(len(job.plan.existing), out_dir)


class RunReport:
    """What `run` tells its user: a progress line, one line per failure or note, then the summary."""

    def __init__(self, jobs: int, quiet: bool) -> None:
        self.progress = ProgressLine(jobs, "colorizing", enabled=False if quiet else None)
        self.quiet = quiet
        self.failures: list[str] = []
        self.done = 0
        self.started = time.perf_counter()

    def start_clock(self) -> None:
        """Time the work from here (model loading included), for the summary's rate."""
        self.started = time.perf_counter()

    def failed(self, what: str, why: str) -> None:
        self.failures.append(what)
        self.progress.message(f"colorplug: FAILED {what}: {why}")

    def note_earlier_outputs(self, count: int) -> None:
        if count and not self.quiet:
            self.progress.message(
                f"colorplug: note: left out {count} file(s) that colorplug made (outputs are never inputs)"
            )

    def follow(self, results) -> None:
        """Report each JobResult as it comes (errors worded with this command's options)."""
        command = click.get_current_context().command
        for count, result in enumerate(results, start=1):
            source = display_path(result.job.source)
            if result.error is not None:
                self.failed(source, say(result.error, command, with_type=True))
            else:
                self.done += 1
                for note in result.notes if not self.quiet else []:
                    self.progress.message(f"colorplug: note {source}: {note}")
            self.progress.update(count)
        self.progress.clear()

    def finish(self, skipped: int, out_dir: Path) -> None:
        """The summary line; exit status 1 when any file failed."""
        elapsed = time.perf_counter() - self.started
        rate = f" ({self.done / elapsed:.1f} images/s)" if self.done and elapsed > 0 else ""
        click.echo(
            f"colorplug: {self.done} colorized, {skipped} skipped (output exists), "
            f"{len(self.failures)} failed in {elapsed:.1f} s{rate} -> {display_path(out_dir)}",
            err=True,
        )
        if self.failures:
            more = f"; and {len(self.failures) - 20} more" if len(self.failures) > 20 else ""
            click.echo(f"colorplug: failed: {'; '.join(self.failures[:20])}{more}", err=True)
            sys.exit(1)
