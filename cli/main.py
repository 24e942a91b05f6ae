"""The `colorplug` command line: a thin click layer over the engine's API.

Exit status: 0 all done, 1 some file failed, 2 usage error (bad option, unknown weights...).
Heavy modules (torch) are imported inside the commands that need them, so `--help` starts fast.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path

import click
from colorplug_cli.progress import ProgressLine
from colorplug_cli.types import DeviceType, FiniteFloatRange, ShardType

from colorplug import __version__
from colorplug.errors import ColorplugError, one_line
from colorplug.options import DEFAULT_VIVIDNESS, MAX_SATURATION, MAX_VIVIDNESS


class CLIError(click.ClickException):
    """An engine error shown as one line, `colorplug: error: ...`, with exit status 2 (usage)."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"colorplug: error: {self.format_message()}", err=True)


class ColorplugGroup(click.Group):
    """The command group; the one place where engine errors, usage errors and Ctrl-C become one line."""

    def main(self, *args, **kwargs):
        """click's own usage errors as one line (click prints the usage and a hint around them)."""
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            click.echo(f"colorplug: error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("colorplug: interrupted", err=True)
            sys.exit(130)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ColorplugError as exc:
            raise CLIError(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("colorplug: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line, the traceback only on request
            if os.environ.get("COLORPLUG_DEBUG"):
                raise
            message = one_line(exc, with_type=True)
            click.echo(
                f"colorplug: internal error: {message} (COLORPLUG_DEBUG=1 shows the traceback)",
                err=True,
            )
            sys.exit(1)


device_option = click.option(
    "--device",
    default=None,
    type=DeviceType(),
    help="cpu, cuda, cuda:N or mps (default: cuda, then mps, then cpu).",
)
weights_option = click.option(
    "--weights",
    "weights",
    default=None,
    metavar="NAME|PATH",
    help="Shipped weights name (see `colorplug weights list`) or a weights file.",
)
batch_option = click.option(
    "--batch-size",
    default=None,
    type=click.IntRange(1, 1024),
    help="Photos per network call (default: 1 on the CPU, 16 on GPUs).",
)
vividness_option = click.option(
    "--vividness",
    default=None,
    type=FiniteFloatRange(0, MAX_VIVIDNESS),
    help=f"0: the colours most likely right; 1: rarer, more vivid ones; up to {MAX_VIVIDNESS:g} (default: "
    f"{DEFAULT_VIVIDNESS:g}, chosen on a validation set). For weights that predict a colour distribution "
    "(general).",
)
render_option = click.option(
    "--render-size",
    default=None,
    type=click.IntRange(8, 4096),
    help="Short side at which the network sees the photo (default: the size the weights were trained at).",
)


@click.group(cls=ColorplugGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="colorplug")
def main() -> None:
    """Colorize grayscale photos automatically (CIE LAB, a deep convolutional network).

    \b
    Example:
      colorplug run old_photos/ -o colorized/
    """
    # Pillow warns and logs about oddities it recovers from or refuses (corrupt EXIF, a TIFF of twenty
    # bands...); real problems reach the user as the one-line errors of each file, so its warnings and
    # log records would only be noise among them.
    warnings.filterwarnings("ignore", module="PIL")
    logging.getLogger("PIL").addHandler(logging.NullHandler())


@main.command()
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
    default=1.0,
    show_default=True,
    type=FiniteFloatRange(0, MAX_SATURATION),
    help="Scale the predicted colour (0 gives gray, >1 more vivid).",
)
@vividness_option
@click.option(
    "--hints",
    "hints",
    default=None,
    type=click.Path(exists=True, path_type=Path),
    help="Colour hints: a hint image (opaque pixels give colours to follow), or with folders a folder "
    "of hint images under the same relative paths and names (any image extension).",
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
    type=click.Choice(["png", "jpg", "tif", "webp"]),
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
    "--max-pixels",
    default=150_000_000,
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
@click.option("--quiet", "-q", is_flag=True, help="No progress line or notes; failures and summary only.")
def run(
    inputs,
    out_dir,
    weights,
    render_size,
    saturation,
    vividness,
    hints,
    device,
    batch_size,
    workers,
    fmt,
    name_suffix,
    overwrite,
    max_pixels,
    shard,
    quiet,
) -> None:
    """Colorize image files, folders (recursively) and glob patterns into OUT.

    \b
    Examples:
      colorplug run scan.jpg -o out/
      colorplug run archive/ 'extra/*.png' -o colorized/ --format png
      colorplug run photos/ -o photos/ --suffix _color      # next to the originals
    """
    from colorplug.files import display_path, remove_stale_temporaries
    from colorplug.inputs import find_images
    from colorplug.plan import plan_jobs

    found, problems = find_images(list(inputs))
    plan = plan_jobs(
        found,
        out_dir,
        fmt=fmt,
        name_suffix=name_suffix,
        overwrite=overwrite,
        shard=shard,
        hints=hints,
    )
    progress = ProgressLine(len(plan.jobs), "colorizing", enabled=None if not quiet else False)
    failures: list[str] = []

    def failed(what: str, why: str) -> None:
        failures.append(what)
        progress.message(f"colorplug: FAILED {what}: {why}")

    for argument, why in problems:
        failed(display_path(argument) or '""', why)
    for path, why in plan.problems:
        failed(display_path(path), why)
    if not found and problems:
        sys.exit(1)
    if plan.earlier_outputs and not quiet:
        count = len(plan.earlier_outputs)
        progress.message(
            f"colorplug: note: left out {count} file(s) that colorplug made (outputs are never inputs)"
        )
    if plan.jobs:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ColorplugError(
                f"cannot create the output folder {display_path(out_dir)}: {one_line(exc)}"
            ) from None
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise ColorplugError(
                f"cannot write into the output folder {display_path(out_dir)}: permission denied"
            )
    remove_stale_temporaries(out_dir)  # left by runs that were killed (never those of a running one)
    started = time.perf_counter()
    done = 0
    if plan.jobs:
        from colorplug.batch import run_jobs
        from colorplug.colorizer import Colorizer

        colorizer = Colorizer(
            weights,
            device=device,
            render_size=render_size,
            saturation=saturation,
            vividness=vividness,
            max_pixels=max_pixels,
            batch_size=batch_size,
        )
        if hints and not colorizer.supports_hints:
            raise ColorplugError(f"--hints: weights {colorizer.weights_name!r} take no colour hints")
        for count, result in enumerate(run_jobs(colorizer, plan.jobs, workers), start=1):
            if result.error:
                failed(display_path(result.job.source), result.error)
            else:
                done += 1
                for note in result.notes if not quiet else []:
                    progress.message(f"colorplug: note {display_path(result.job.source)}: {note}")
            progress.update(count)
        progress.clear()
    elapsed = time.perf_counter() - started
    rate = f" ({done / elapsed:.1f} images/s)" if done and elapsed > 0 else ""
    click.echo(
        f"colorplug: {done} colorized, {len(plan.existing)} skipped (output exists), "
        f"{len(failures)} failed in {elapsed:.1f} s{rate} -> {display_path(out_dir)}",
        err=True,
    )
    if failures:
        listed = "; ".join(failures[:20]) + (f"; and {len(failures) - 20} more" if len(failures) > 20 else "")
        click.echo(f"colorplug: failed: {listed}", err=True)
        sys.exit(1)


@main.command(name="eval")
@click.argument("data", nargs=-1, required=True)
@weights_option
@click.option(
    "--protocol",
    default="seed",
    show_default=True,
    type=click.Choice(["seed", "native"]),
    help="seed: 256x256 as in the founding paper; native: full size.",
)
@render_option
@vividness_option
@click.option(
    "--hints",
    "hint_count",
    default=0,
    type=click.IntRange(0, 1000),
    help="Also colorize with N colour hints per image sampled from its ground truth (seeded), "
    "reported beside the figures without hints.",
)
@device_option
@click.option("--limit", default=0, type=click.IntRange(0), help="Use only the first N images (0: all).")
@batch_option
@click.option(
    "--report",
    "report_dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Write per_image.csv, summary.json and grid.png here.",
)
def evaluate(
    data, weights, protocol, render_size, vividness, hint_count, device, limit, batch_size, report_dir
) -> None:
    """Measure colorization of DATA folders of colour photos against the gray baseline.

    \b
    Example:
      colorplug eval ../shared/data/general/test --report reports/general
    """
    from colorplug.colorizer import Colorizer
    from colorplug.evaluate import evaluate as run_evaluation
    from colorplug.evaluate import format_table, write_report

    colorizer = Colorizer(
        weights, device=device, render_size=render_size, batch_size=batch_size, vividness=vividness
    )
    progress = ProgressLine(0, "evaluating")

    def show(done: int, total: int) -> None:
        progress.total = total
        progress.update(done)

    report = run_evaluation(colorizer, list(data), protocol, limit, progress=show, hints=hint_count)
    progress.clear()
    click.echo(format_table(report.summary))
    for line in report.summary["skipped"]:
        click.echo(f"colorplug: skipped {line}", err=True)
    if report_dir:
        written = write_report(report, report_dir)
        click.echo("report: " + ", ".join(str(path) for path in written))


@main.command()
@click.argument("data", nargs=-1, required=True)
@click.option(
    "--out", default="runs/train", show_default=True, help="Folder for checkpoint, log and weights."
)
@click.option("--name", default="custom", show_default=True, help="Name of the weights produced.")
@click.option(
    "--arch",
    default="seed",
    show_default=True,
    type=click.Choice(["seed", "unet", "lite0-unet"]),
    help="seed: the paper's; unet: with skips; lite0-unet: ImageNet EfficientNet-Lite0 encoder, hints.",
)
@click.option(
    "--width",
    default=1.0,
    show_default=True,
    type=FiniteFloatRange(0.05, 4),
    help="Width multiplier.",
)
@click.option(
    "--image-size", default=256, show_default=True, type=click.IntRange(32, 2048), help="Crop size."
)
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1))
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(1))
@click.option("--lr", default=2e-4, show_default=True, type=FiniteFloatRange(0, 1, min_open=True))
@click.option("--beta1", default=0.5, show_default=True, type=FiniteFloatRange(0, 1, max_open=True))
@click.option(
    "--loss",
    default="l1",
    show_default=True,
    type=click.Choice(["l1", "l2", "huber", "rebalanced", "ce", "blend"]),
    help="rebalanced: L1 weighted by the rarity of the target colour; ce: rebalanced cross-entropy over "
    "ab bins (lite0-unet); blend: ce + L1, which gives the vividness control.",
)
@click.option(
    "--rebalance",
    default=0.5,
    show_default=True,
    type=FiniteFloatRange(0, 1),
    help="ce/blend: share of uniform mixed into the colour prior before inverting (1: no rebalancing).",
)
@click.option(
    "--l1-weight", default=10.0, show_default=True, type=FiniteFloatRange(0), help="blend: weight of L1."
)
@click.option(
    "--encoder-init",
    default="imagenet",
    show_default=True,
    type=click.Choice(["imagenet", "random"]),
    help="lite0-unet: start from the ImageNet weights (needs colorplug[train]) or from random ones.",
)
@click.option(
    "--init-from",
    default="",
    metavar="WEIGHTS",
    help="Start from the parameters of this weights file (fine-tuning).",
)
@click.option("--hints", is_flag=True, help="Simulate colour hints from the ground truth (lite0-unet).")
@click.option("--schedule", default="constant", show_default=True, type=click.Choice(["constant", "cosine"]))
@click.option(
    "--ema",
    default=0.0,
    show_default=True,
    type=FiniteFloatRange(0, 1, max_open=True),
    help="EMA decay of the weights shipped (0: off).",
)
@click.option("--limit", default=0, type=click.IntRange(0), help="Use N images (seeded choice; 0: all).")
@click.option("--val", multiple=True, help="Validation folder (L1 on ab logged each epoch).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(0, 64))
@click.option(
    "--preload",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "yes", "no"]),
    help="Decode the data set into memory once.",
)
@device_option
@click.option(
    "--threads",
    default=0,
    type=click.IntRange(0),
    help="CPU threads (0: all). With 1, CPU runs are bit-for-bit reproducible, resumed ones included.",
)
@click.option(
    "--precision",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "fp32", "bf16"]),
    help="bf16: autocast where the hardware has bf16 (AVX512-BF16, AMX, CUDA); auto: time both for a few "
    "steps and keep the faster.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--time-limit",
    "time_limit_min",
    default=0.0,
    type=FiniteFloatRange(0),
    help="Stop after this many minutes (0: none) and write the weights.",
)
@click.option("--data-license", default="", help="License of the training data, for the manifest.")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
def train(data, quiet, **options) -> None:
    """Train a colorization network on DATA folders of colour photos (paper recipe by default).

    \b
    Example:
      colorplug train ../shared/data/general/train --out runs/general --name general \\
          --width 0.5 --image-size 128 --epochs 10
    """
    from colorplug.train import TrainConfig
    from colorplug.train import train as run_training

    config = TrainConfig(data=list(data), val=list(options.pop("val")), **options)
    progress = ProgressLine(0, "training", enabled=False if quiet else None)

    def show(state) -> None:
        progress.total = state.total
        progress.label = f"epoch {state.epoch}/{state.epochs}"
        progress.update(state.done, f"loss {state.loss:.4f} {state.images_per_s:.1f} img/s")

    result = run_training(config, show)
    progress.clear()
    rank = f"rank {result.rank}/{result.ranks}: " if result.ranks > 1 else ""
    click.echo(
        f"{rank}trained {result.epochs_done} epochs ({result.steps} steps) in {result.wall_time_s:.0f} s, "
        f"final loss {result.final_loss:.4f}; weights {result.weights}; entry {result.manifest_entry}"
    )


@main.group()
def weights() -> None:
    """List, locate and verify the named weights.

    \b
    Example:
      colorplug weights list
    """


@weights.command(name="list")
def list_weights() -> None:
    """Show the shipped weights (the default is marked *)."""
    from colorplug.weights import cached_path, read_manifest

    for name, entry in read_manifest().items():
        evaluations = entry.info.get("eval") or [{}]
        figures = evaluations[0].get("model", {})
        psnr = f"PSNR {figures['psnr']:.2f} dB" if "psnr" in figures else ""
        cached = "cached" if cached_path(entry).is_file() else "not cached yet"
        click.echo(
            f"{'*' if entry.default else ' '} {name:10} {entry.arch} x{entry.width:g}  {psnr}  ({cached})"
        )


@weights.command(name="path")
@click.argument("name", required=False)
def weights_path(name) -> None:
    """Print the verified cached file of NAME (the default if omitted)."""
    from colorplug.weights import default_weights_name, ensure_cached, read_manifest

    entries = read_manifest()
    name = name or default_weights_name(entries)
    if name not in entries:
        raise ColorplugError(f"unknown weights {name!r} (known: {', '.join(entries)})")
    click.echo(str(ensure_cached(entries[name])))


@weights.command(name="verify")
def verify_weights() -> None:
    """Check every shipped weight against its sha256 (repairing damaged cached copies)."""
    from colorplug.weights import verify_all

    results = verify_all()
    for name, status in results.items():
        click.echo(f"{name}: {status}")
    if any(status != "ok" for status in results.values()):
        sys.exit(1)


@weights.command(name="add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Name to ship the weights under.")
@click.option(
    "--entry",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="manifest_entry.json written by `colorplug train`.",
)
@click.option(
    "--eval",
    "eval_summaries",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="summary.json files from `colorplug eval --report` to record.",
)
@click.option(
    "--to",
    "folder",
    default="weights",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The weights folder of a checkout.",
)
@click.option("--default", "make_default", is_flag=True, help="Make these the default weights.")
def add_weights(file, name, entry, eval_summaries, folder, make_default) -> None:
    """Copy trained weights into a checkout's weights folder and record them in its manifest.

    \b
    Example:
      colorplug weights add runs/general/general.pt --name general \\
          --entry runs/general/manifest_entry.json --eval reports/general/summary.json --default
    """
    from colorplug.weights import add_to_manifest

    add_to_manifest(file, name, entry, list(eval_summaries), folder, make_default)
    click.echo(f"added {name} to {folder / 'manifest.json'}")


@main.group()
def gimp() -> None:
    """Install the GIMP 3 plug-in (Colors > Colorize Photo (colorplug)...).

    \b
    Example:
      colorplug gimp install
    """


@gimp.command(name="install")
@click.option(
    "--profile",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="GIMP 3 profile folder (default: $GIMP3_DIRECTORY or the platform's location).",
)
@click.option("--python", "python", default=None, help="Python that runs the engine (default: this one).")
@click.option(
    "--timeout",
    "timeout_s",
    default=600,
    show_default=True,
    type=click.IntRange(10),
    help="Seconds GIMP waits for one colorization.",
)
def gimp_install(profile, python, timeout_s) -> None:
    """Install the plug-in and record which Python runs the engine.

    \b
    Example:
      colorplug gimp install --profile ~/.config/GIMP/3.0
    """
    from colorplug.gimp_install import install

    target = install(profile, python, timeout_s)
    click.echo(f"installed {target}; restart GIMP, then use Colors > Colorize Photo (colorplug)...")


@gimp.command(name="uninstall")
@click.option("--profile", type=click.Path(file_okay=False, path_type=Path), default=None)
def gimp_uninstall(profile) -> None:
    """Remove the plug-in.

    \b
    Example:
      colorplug gimp uninstall
    """
    from colorplug.gimp_install import uninstall

    target = uninstall(profile)
    click.echo(f"removed {target}" if target else "the plug-in was not installed")


if __name__ == "__main__":
    main()
