"""`colorplug weights`: list, locate, verify and add the named weights."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from colorplug.errors import ColorplugError


@click.group()
def weights() -> None:
    """List, locate and verify the named weights.

    \b
    Example:
      colorplug weights list
    """


@weights.command(name="list")
def list_weights() -> None:
    """Show the shipped weights (the default is marked *)."""
    from colorplug.nets.weights import cached_path, read_manifest

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
    from colorplug.nets.weights import default_weights_name, ensure_cached, read_manifest

    entries = read_manifest()
    name = name or default_weights_name(entries)
    if name not in entries:
        raise ColorplugError(f"unknown weights {name!r} (known: {', '.join(entries)})")
    click.echo(str(ensure_cached(entries[name])))


@weights.command(name="verify")
def verify_weights() -> None:
    """Check every shipped weight against its sha256 (repairing damaged cached copies)."""
    from colorplug.nets.weights import verify_all

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
    from colorplug.nets.weights import add_to_manifest

    add_to_manifest(file, name, entry, list(eval_summaries), folder, make_default)
    click.echo(f"added {name} to {folder / 'manifest.json'}")
