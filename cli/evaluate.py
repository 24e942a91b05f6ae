"""`colorplug eval`: parse the options, hand off to the evaluation layer, print the table and the report."""

from __future__ import annotations

from pathlib import Path

import click
from colorplug_cli.options import (
    batch_option,
    decoder_option,
    device_option,
    render_option,
    vividness_option,
    weights_option,
)
from colorplug_cli.progress import ProgressLine

from colorplug.evaluation.protocols import ALIASES, PROTOCOLS

REFERENCE_MODES = ("self", "same-class", "unrelated", "series")  # evaluation/reference.py's MODES

PROTOCOL_HELP = "paper: 256x256 as in the founding paper; native: full size" + "".join(
    f"; {alias}: the old name of {name}" for alias, name in ALIASES.items()
)


REPORT_HELP = "Write per_image.csv, summary.json and grid.png here."


@click.command(name="eval")
@click.argument("data", nargs=-1, required=True)
@weights_option
@click.option(
    "--protocol",
    default="paper",
    show_default=True,
    type=click.Choice([*PROTOCOLS, *ALIASES]),
    help=PROTOCOL_HELP + ".",
)
@render_option
@vividness_option
@decoder_option
@click.option(
    "--hints",
    "hint_points",
    default=0,
    type=click.IntRange(0, 1000),
    help="Also colorize with N colour hints per image sampled from its ground truth (seeded), "
    "reported beside the figures without hints.",
)
@click.option(
    "--realism/--no-realism",
    default=None,
    help="Measure the Fréchet distance to the ground truth on EfficientNet-Lite2 features (this project's "
    "measure, not comparable with published FID; default: with 250 photos or more and the eval extra).",
)
@click.option(
    "--reference",
    type=click.Choice(REFERENCE_MODES),
    help="Also colorize with a reference photo: self (the ground truth mirrored and cropped), same-class "
    "or unrelated (a seeded --reference-pool photo of the same or another ImageNet class), series (two "
    "overlapping crops, the second with the first's output as reference).",
)
@click.option(
    "--reference-pool",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Folder of colour photos that same-class and unrelated references are picked from (repeatable).",
)
@device_option
@click.option("--limit", default=0, type=click.IntRange(0), help="Use only the first N images (0: all).")
@batch_option
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), help=REPORT_HELP)
def evaluate(
    data: tuple[str, ...],
    protocol: str,
    hint_points: int,
    realism: bool | None,
    reference: str | None,
    reference_pool: tuple[str, ...],
    limit: int,
    report_dir: Path | None,
    **colorizer_settings,
) -> None:
    """Measure colorization of DATA folders of colour photos against the gray baseline.

    \b
    Example:
      colorplug eval ../shared/data/general/test --report reports/general
      colorplug eval ../shared/data/general/test --reference same-class \\
          --reference-pool ../shared/data/general/train
    """
    from colorplug.engine.colorizer import Colorizer
    from colorplug.evaluation.report import format_table, write_report
    from colorplug.evaluation.run import evaluate as run_evaluation

    if reference in ("same-class", "unrelated") and not reference_pool:
        raise click.UsageError(f"--reference {reference} needs --reference-pool FOLDER")
    colorizer = Colorizer(**colorizer_settings)
    progress = ProgressLine(0, "evaluating")

    def show(done: int, total: int) -> None:
        progress.total = total
        progress.update(done)

    report = run_evaluation(
        colorizer,
        list(data),
        protocol,
        limit,
        progress=show,
        hint_points=hint_points,
        realism=realism,
        reference=reference,
        reference_pool=list(reference_pool),
    )
    progress.clear()
    click.echo(format_table(report.summary))
    for line in report.summary["skipped"]:
        click.echo(f"colorplug: skipped {line}", err=True)
    if report_dir:
        written = write_report(report, report_dir)
        click.echo("report: " + ", ".join(str(path) for path in written))
