"""`colorplug eval --confidence / --suggest / --where`: what the distribution tells, measured and reported."""

from __future__ import annotations

import json
from pathlib import Path

import click

from colorplug.io.files import atomic_path

INSIGHTS = ("confidence", "suggest", "where")


def run_insights(colorizer, data: list[str], protocol: str, limit: int, asked: list[str], progress) -> dict:
    """The summaries of the insight evaluations asked for, by name."""
    from colorplug.evaluation import insight

    run = insight.InsightRun(colorizer, data, protocol, limit, progress)
    measures = {name: getattr(insight, f"evaluate_{name}") for name in asked}  # evaluate_confidence, ...
    return {name: measures[name](run).summary for name in asked}


def describe(summaries: dict) -> str:
    """The headline figures of each insight evaluation, one line each."""
    lines = []
    if "confidence" in summaries:
        s = summaries["confidence"]
        lines.append(
            f"confidence ({s['images']} images): AUSE {s['ause']:.3f} (random order {s['ause_random']:.3f}, "
            f"ratio {s['ause_ratio_to_random']:.2f}); removing the 20% least certain: CIEDE2000 "
            f"{s['ciede2000_all']:.2f} -> {s['ciede2000_without_20pct_least_certain']:.2f} (oracle "
            f"{s['ciede2000_without_20pct_worst_oracle']:.2f}, share {s['drop_20pct_share_of_oracle']:.2f})"
        )
    if "suggest" in summaries:
        s = summaries["suggest"]
        lines.append(
            f"suggestions ({s['images']} images, {s['regions']} regions): within CIEDE2000 "
            f"{s['hit_ciede2000']:g}: top-1 {s['top1_hit_rate']:.3f}, top-3 {s['top3_hit_rate']:.3f}, "
            f"top-5 {s['top5_hit_rate']:.3f}"
        )
    if "where" in summaries:
        lines.append(_where_line(summaries["where"]))
    return "\n".join(lines)


def _where_line(s: dict) -> str:
    """The headline of --where: the lifts, or why they are missing."""
    if s["psnr_lift_placed"] is None:
        return f"where to hint ({s['images']} images): no figure: {s['undefined']['psnr_lift_placed']}"
    return (
        f"where to hint ({s['images']} images, {s['hints']} hints): PSNR lift placed "
        f"{s['psnr_lift_placed']:+.2f} dB, random {s['psnr_lift_random']:+.2f} dB"
    )


def write_insights(summaries: dict, folder: Path) -> list[Path]:
    """summary.json (and sparsification.png with --confidence) in `folder`, atomically."""
    from colorplug.evaluation.plot import sparsification_plot

    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "summary.json"]
    with atomic_path(written[0]) as temp:
        temp.write_text(json.dumps(summaries, indent=2) + "\n", encoding="utf-8")
    if "confidence" in summaries:
        s = summaries["confidence"]
        title = f"{s['weights']} on {', '.join(s['data'])} ({s['images']} photos)"
        written.append(folder / "sparsification.png")
        with atomic_path(written[1]) as temp:
            sparsification_plot(s["removed_percent"], s["curves"], title).save(temp, format="PNG")
    return written


def report_insights(colorizer, data, protocol, limit, asked, report_dir, progress, clear) -> None:
    """Run, print and (with a report folder) write the insight evaluations (`progress(done, total)`
    shows how far they are, `clear()` removes that before the figures)."""
    summaries = run_insights(colorizer, data, protocol, limit, asked, progress)
    clear()
    click.echo(describe(summaries))
    if report_dir:
        click.echo("report: " + ", ".join(str(path) for path in write_insights(summaries, report_dir)))
