"""`colorplug eval`: parse the options, hand off to the evaluation layer, print the table and the report."""

from __future__ import annotations

from pathlib import Path

import click
from colorplug_cli.evaluate_insight import INSIGHTS, report_insights
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
@click.option("--confidence", is_flag=True, help="Measure the confidence map instead (sparsification, AUSE).")
@click.option("--suggest", is_flag=True, help="Measure the colour suggestions instead (top-1/3/5 hit rates).")
@click.option("--where", is_flag=True, help="Measure 5 hints at the places to hint against 5 at random ones.")
def evaluate(
    data: tuple[str, ...],
    protocol: str,
    hint_points: int,
    realism: bool | None,
    reference: str | None,
    reference_pool: tuple[str, ...],
    limit: int,
    report_dir: Path | None,
    confidence: bool,
    suggest: bool,
    where: bool,
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
    from colorplug.evaluation.run import evaluate as run_evaluation

    _check_reference(reference, reference_pool)
    colorizer = Colorizer(**colorizer_settings)
    progress = ProgressLine(0, "evaluating")

    def show(done: int, total: int) -> None:
        progress.total = total
        progress.update(done)

    asked = _insights_asked(confidence, suggest, where)
    if asked:
        report_insights(colorizer, list(data), protocol, limit, asked, report_dir, show, progress.clear)
        return
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
    _print_report(report, report_dir)


def _insights_asked(*flags: bool) -> list[str]:
    """The names of the insight evaluations asked for (--confidence, --suggest, --where)."""
    return [name for name, given in zip(INSIGHTS, flags, strict=True) if given]


def _check_reference(reference: str | None, reference_pool: tuple[str, ...]) -> None:
    if reference in ("same-class", "unrelated") and not reference_pool:
        raise click.UsageError(f"--reference {reference} needs --reference-pool FOLDER")


def _print_report(report, report_dir: Path | None) -> None:
    """The table on stdout, the photos skipped on stderr, and the report files written to `report_dir`."""
    from colorplug.evaluation.report import format_table, write_report

    click.echo(format_table(report.summary))
    for line in report.summary["skipped"]:
        click.echo(f"colorplug: skipped {line}", err=True)
    if report_dir:
        click.echo("report: " + ", ".join(str(path) for path in write_report(report, report_dir)))
