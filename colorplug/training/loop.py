"""Training, nanoGPT style: one readable loop with the paper's recipe as defaults (see config.py).

`lite0-unet` starts from the ImageNet EfficientNet-Lite0 and can learn a distribution over ab bins (the
`ce` and `blend` losses, see color/chroma.py) and to follow colour hints simulated from the ground truth
(`simulate_hints`). Each epoch ends with a CSV log row and an atomic checkpoint, so `resume` continues
exactly; the end result is a weights file plus a manifest entry describing how it was made. Works under
torchrun (DDP): rank 0 alone writes files.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from colorplug.color.lab import denormalize_ab
from colorplug.errors import ColorplugError
from colorplug.hints.maps import sample_points, simulate
from colorplug.io.files import atomic_path
from colorplug.nets.weights import save_weights_file
from colorplug.training import distributed, precision
from colorplug.training.checkpoints import CHECKPOINT, save_checkpoint
from colorplug.training.config import TrainConfig
from colorplug.training.data import crop_flip, random_crops, to_lab_batch
from colorplug.training.log import LOG, append_log
from colorplug.training.manifest import manifest_entry
from colorplug.training.setup import Run, set_up

VAL_HINTS = 10  # the validation loss is also logged with this many ground-truth hints per image
MANIFEST_ENTRY = "manifest_entry.json"


@dataclass
class Progress:
    """What the front end shows while training."""

    epoch: int
    epochs: int
    done: int
    total: int
    loss: float
    images_per_s: float


@dataclass
class TrainResult:
    """Where the outputs went and the last figures."""

    weights: Path
    manifest_entry: Path
    epochs_done: int
    final_loss: float
    wall_time_s: float
    steps: int = 0
    rank: int = 0
    ranks: int = 1


@dataclass
class _Epoch:
    """What the steps of one epoch did."""

    loss_sum: float = 0.0
    loss_count: int = 0  # steps that counted (batches of at least two colourful photos)
    seen: int = 0  # images, over all ranks
    waited: float = 0.0  # seconds spent waiting for data
    elapsed: float = 0.0
    stopped_early: bool = False  # the time limit was reached


def train(config: TrainConfig, progress: Callable[[Progress], None] | None = None) -> TrainResult:
    """Train a colorization network as `config` says: set up, run the epochs, write the results."""
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    world = distributed.join(config.device)
    try:
        run = set_up(config, world)
        epochs_done, mean_loss, wall = _run_epochs(run, progress)
        return _write_results(run, epochs_done, mean_loss, wall)
    finally:
        distributed.leave(world)


def learning_rate(config: TrainConfig, fraction: float) -> float:
    """Constant (the paper), or cosine decay to 1% as `fraction` of the run (epochs or time) passes."""
    if config.schedule == "constant":
        return config.lr
    if config.schedule == "cosine":
        return config.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, fraction))))
    raise ColorplugError(f"unknown schedule {config.schedule!r} (use constant or cosine)")


@torch.no_grad()
def validation_loss(
    model: torch.nn.Module, loader: DataLoader, device: torch.device, size: int, with_hints: bool
) -> dict[str, float]:
    """Mean L1 on ab / 128 over centre crops of a validation set; with `with_hints`, also given VAL_HINTS
    ground-truth hints per image (seeded by position), which shows whether the hints are being learnt."""
    model.eval()
    totals = {"val_loss": 0.0, "val_loss_hints": 0.0} if with_hints else {"val_loss": 0.0}
    count = 0
    for batch in loader:
        offset = (batch.shape[-1] - size) // 2
        crops = batch[..., offset : offset + size, offset : offset + size].to(device)
        lightness, ab, _ = to_lab_batch(crops)
        totals["val_loss"] += F.l1_loss(model(lightness).ab.float(), ab, reduction="sum").item()
        if with_hints:
            points = [
                sample_points(denormalize_ab(one), VAL_HINTS, seed=count + i) for i, one in enumerate(ab)
            ]
            predicted = model(lightness, torch.stack(points)).ab.float()
            totals["val_loss_hints"] += F.l1_loss(predicted, ab, reduction="sum").item()
        count += crops.shape[0]
    model.train()
    return {key: total / max(1, count) / (2 * size * size) for key, total in totals.items()}


def _train_step(run: Run, batch: torch.Tensor, augment: torch.Generator, fraction: float) -> float | None:
    """One optimizer step on a batch (random crops, flips and hints drawn from `augment`); its loss, or
    None when the batch held no colourful image."""
    config, device = run.config, run.device
    for group in run.optimizer.param_groups:
        group["lr"] = learning_rate(config, fraction)
    crops = _augment_local(batch.to(device, non_blocking=True), config, run.world, augment)
    lightness, target, colourful = to_lab_batch(crops)
    if int(colourful.sum()) < 2:  # BatchNorm needs two images (a photo that could not be read is black)
        return None
    lightness, target = lightness[colourful], target[colourful]
    given = simulate(target.cpu(), augment).to(device) if config.simulate_hints else None
    lightness = lightness.contiguous(memory_format=torch.channels_last)
    with precision.autocast(run.precision, device):
        prediction = run.model(lightness, given)
    loss = run.loss(prediction, target, run.bins)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    if run.ema is not None:
        run.ema.update(run.bare_model)
    run.step += 1
    return loss.item()


def _augment_local(
    batch: torch.Tensor, config: TrainConfig, world: distributed.World, generator: torch.Generator
) -> torch.Tensor:
    """Random crops and flips drawn for the whole global batch, this rank applying its own share.

    Every rank draws the same numbers, so N ranks see exactly the crops one process would.
    """
    crops = random_crops(batch.shape[0] * world.size, batch.shape[-1], config.image_size, generator)
    return crop_flip(batch, config.image_size, crops[world.rank :: world.size])


def _run_epochs(run: Run, progress: Callable[[Progress], None] | None) -> tuple[int, float, float]:
    """The training loop: epochs of steps, a log row and a checkpoint after each. Returns the epochs done,
    the last epoch's mean loss and the wall time. Batches with fewer than two colourful photos are skipped."""
    began = time.perf_counter()
    epoch, mean_loss, stopped_early = run.start_epoch, float("nan"), False
    for epoch in range(run.start_epoch, run.config.epochs):
        done = _epoch_steps(run, epoch, began, progress)
        if done.loss_count == 0 and not done.stopped_early:
            raise ColorplugError("no colourful images to learn from: the training images are all near-gray")
        mean_loss = distributed.mean_across(run.world, done.loss_sum / max(1, done.loss_count))
        _end_epoch(run, epoch, done, mean_loss, began)
        stopped_early = done.stopped_early
        if stopped_early:
            break
    return epoch + (0 if stopped_early else 1), mean_loss, time.perf_counter() - began


def _epoch_steps(run: Run, epoch: int, began: float, progress: Callable[[Progress], None] | None) -> _Epoch:
    """The steps of one epoch, up to the time limit; progress is shown by rank 0."""
    config, world = run.config, run.world
    deadline = began + config.time_limit_min * 60 if config.time_limit_min > 0 else math.inf
    run.sampler.set_epoch(epoch)
    augment = torch.Generator().manual_seed(config.random_seed * 1_000_003 + epoch)
    run.model.train()
    done, epoch_start = _Epoch(), time.perf_counter()
    fetch_start = time.perf_counter()
    for batch in run.loader:
        done.waited += time.perf_counter() - fetch_start
        fraction = (epoch + done.loss_count / len(run.loader)) / config.epochs
        if config.time_limit_min > 0:
            fraction = max(fraction, (time.perf_counter() - began) / (config.time_limit_min * 60))
        loss = _train_step(run, batch, augment, fraction)
        if loss is not None:
            done.loss_sum += loss
            done.loss_count += 1
            done.seen += batch.shape[0] * world.size
            if progress and world.is_main:
                rate = done.seen / max(1e-9, time.perf_counter() - epoch_start)
                total = len(run.loader) * config.batch_size
                progress(
                    Progress(
                        epoch + 1, config.epochs, done.seen, total, done.loss_sum / done.loss_count, rate
                    )
                )
        fetch_start = time.perf_counter()
        if time.perf_counter() > deadline:
            done.stopped_early = True
            break
    done.elapsed = time.perf_counter() - epoch_start
    return done


def _end_epoch(run: Run, epoch: int, done: _Epoch, mean_loss: float, began: float) -> None:
    """The validation losses, the log row and (unless stopped early) the checkpoint of an epoch."""
    config = run.config
    val = {}
    if run.val_loader is not None:
        val = validation_loss(
            run.bare_model, run.val_loader, run.device, config.image_size, config.simulate_hints
        )
    if run.world.is_main:
        elapsed = max(done.elapsed, 1e-9)
        row = {
            "epoch": epoch + 1,
            "step": run.step,
            "images": done.seen,
            "loss": f"{mean_loss:.6f}",
            **{key: f"{value:.6f}" for key, value in val.items()},
            "images_per_s": f"{done.seen / elapsed:.2f}",
            "data_wait_fraction": f"{done.waited / elapsed:.4f}",
            "lr": f"{run.optimizer.param_groups[0]['lr']:.3g}",
            "elapsed_s": f"{time.perf_counter() - began:.1f}",
        }
        append_log(run.out / LOG, row)
        if not done.stopped_early:
            _save(run, epoch + 1)
    distributed.barrier(run.world)


def _save(run: Run, epochs: int) -> None:
    save_checkpoint(
        run.out / CHECKPOINT,
        model=run.bare_model,
        optimizer=run.optimizer,
        ema=run.ema,
        loss=run.loss,
        epoch=epochs,
        step=run.step,
        precision=run.precision,
        config=run.config,
    )


def _write_results(run: Run, epochs_done: int, mean_loss: float, wall: float) -> TrainResult:
    """The weights file (EMA weights when enabled) and its manifest entry, written by rank 0."""
    config, world = run.config, run.world
    weights_path = run.out / f"{config.name}.pt"
    entry_path = run.out / MANIFEST_ENTRY
    if world.is_main:
        model = run.bare_model
        final_state = run.ema.state if run.ema is not None else model.state_dict()
        sha = save_weights_file(weights_path, run.network, final_state, render_size=config.image_size)
        entry = manifest_entry(
            config,
            weights=weights_path,
            sha=sha,
            images=len(run.dataset),
            epochs_done=epochs_done,
            steps=run.step,
            loss=mean_loss,
            wall=wall,
            device=run.device,
            model=model,
            ranks=world.size,
            precision={"used": run.precision, "measured_s_per_step": run.precision_timings},
        )
        with atomic_path(entry_path) as temp:
            temp.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
    return TrainResult(
        weights_path, entry_path, epochs_done, mean_loss, wall, run.step, world.rank, world.size
    )
