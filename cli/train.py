"""`colorplug train`: its options are TrainConfig's fields (defaults, help and values declared there);
parse them, hand off to the training loop, show its progress."""

from __future__ import annotations

import click
from colorplug_cli.options import device_option, options_from, quiet_option
from colorplug_cli.progress import ProgressLine

from colorplug.training.config import TrainConfig


@click.command()
@click.argument("data", nargs=-1, required=True)
@options_from(TrainConfig, skip={"data"}, shared={"device": device_option})
@quiet_option
def train(data: tuple[str, ...], quiet: bool, **settings) -> None:
    """Train a colorization network on DATA folders of colour photos (paper recipe by default).

    \b
    Example:
      colorplug train ../shared/data/general/train --out runs/general --name general \\
          --width 0.5 --image-size 128 --epochs 10
    """
    from colorplug.training.loop import train as run_training

    lists = {key: list(value) for key, value in settings.items() if isinstance(value, tuple)}
    config = TrainConfig(data=list(data), **{**settings, **lists})
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
