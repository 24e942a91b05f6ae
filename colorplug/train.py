"""Training, nanoGPT style: one readable loop with the paper's recipe as defaults.

Defaults: Adam lr 2e-4, beta1 0.5, L1 loss on ab / 128, 256x256 crops, 100 epochs. Each epoch ends
with an atomic checkpoint (model, optimizer, EMA, RNG, log position) so `resume` continues exactly;
a CSV log records loss, throughput and the share of step time spent waiting for data. The end result
is a weights file plus a manifest entry describing how it was made. Works under torchrun (DDP).
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from colorplug import distributed
from colorplug.data import (
    CachedImages,
    ColorImages,
    crop_flip,
    list_training_images,
    random_crops,
    to_lab_batch,
)
from colorplug.errors import ColorplugError
from colorplug.files import atomic_path
from colorplug.model import count_parameters, create_model
from colorplug.weights import save_weights_file

LOSSES = ("l1", "l2", "huber", "rebalanced")
CHECKPOINT = "checkpoint.pt"
LOG = "log.csv"
PRELOAD_LIMIT_BYTES = 6 << 30  # decode the data set into memory when it takes less than this


@dataclass
class TrainConfig:
    """Every knob of a training run (the paper's recipe by default)."""

    data: list[str]
    out: str = "runs/train"
    name: str = "custom"
    arch: str = "seed"
    width: float = 1.0
    image_size: int = 256
    batch_size: int = 16
    epochs: int = 100
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "l1"
    schedule: str = "constant"
    ema: float = 0.0
    limit: int = 0
    val: list[str] = field(default_factory=list)
    workers: int = 2
    preload: str = "auto"
    device: str | None = None
    threads: int = 0  # CPU threads for torch (0: torch's default)
    seed: int = 0
    time_limit_min: float = 0.0
    data_license: str = ""
    resume: bool = False


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


class RebalancedL1:
    """L1 weighted by the rarity of each target pixel's ab bin, against the washed-out "sepia" average.

    Zhang et al. (2016) rebalance their colour classes by a smoothed inverse prior; this carries the
    idea to regression: the prior over a 16x16 grid of ab is a running histogram of the targets,
    weights are 1 / ((1 - mix) * prior + mix / bins), normalised to 1 on average.
    """

    def __init__(self, device: torch.device, bins: int = 16, mix: float = 0.5, momentum: float = 0.99):
        self.bins, self.mix, self.momentum = bins, mix, momentum
        self.prior = torch.full((bins * bins,), 1.0 / bins**2, device=device)

    def __call__(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        cells = ((target.clamp(-1, 1 - 1e-6) + 1) * (self.bins / 2)).long()  # (N, 2, H, W)
        index = cells[:, 0] * self.bins + cells[:, 1]
        with torch.no_grad():
            counts = torch.bincount(index.flatten(), minlength=self.bins**2).float()
            self.prior.mul_(self.momentum).add_(counts / counts.sum(), alpha=1 - self.momentum)
            weights = 1.0 / ((1 - self.mix) * self.prior + self.mix / self.bins**2)
            weights /= (self.prior * weights).sum()
        return (weights[index][:, None] * (prediction - target).abs()).mean()


def loss_fn(name: str, device: torch.device) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss between predicted and target ab / 128."""
    if name == "l1":
        return F.l1_loss
    if name == "l2":
        return F.mse_loss
    if name == "huber":
        return lambda pred, target: F.smooth_l1_loss(pred, target, beta=0.05)
    if name == "rebalanced":
        return RebalancedL1(device)
    raise ColorplugError(f"unknown loss {name!r} (use {', '.join(LOSSES)})")


def learning_rate(config: TrainConfig, fraction: float) -> float:
    """Constant (the paper), or cosine decay to 1% as `fraction` of the run (epochs or time) passes."""
    if config.schedule == "constant":
        return config.lr
    if config.schedule == "cosine":
        return config.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, fraction))))
    raise ColorplugError(f"unknown schedule {config.schedule!r} (use constant or cosine)")


def select_paths(folders: list[str], limit: int, seed: int) -> list[Path]:
    """The training files: all of them, or `limit` of them picked by a seeded shuffle."""
    try:
        paths = list_training_images(folders)
    except FileNotFoundError as exc:
        raise ColorplugError(str(exc)) from None
    if not paths:
        raise ColorplugError(f"no images found in {', '.join(folders)}")
    if 0 < limit < len(paths):
        order = torch.randperm(len(paths), generator=torch.Generator().manual_seed(seed))
        paths = sorted(paths[i] for i in order[:limit].tolist())
    return paths


def _dataset(paths: list[Path], config: TrainConfig) -> torch.utils.data.Dataset:
    dataset = ColorImages(paths, config.image_size)
    size = len(dataset) * 3 * dataset.stored_size**2
    if config.preload == "yes" or (config.preload == "auto" and size < PRELOAD_LIMIT_BYTES):
        return CachedImages.decode(dataset, config.workers)
    return dataset


class EMA:
    """Exponential moving average of parameters and buffers (the weights shipped when enabled)."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                self.state[key].lerp_(value, 1 - self.decay)
            else:
                self.state[key].copy_(value)


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


@torch.no_grad()
def validation_loss(model: torch.nn.Module, loader: DataLoader, device: torch.device, size: int) -> float:
    """Mean L1 on ab / 128 over centre crops of a validation set."""
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        offset = (batch.shape[-1] - size) // 2
        crops = batch[..., offset : offset + size, offset : offset + size].to(device)
        lightness, ab, _ = to_lab_batch(crops)
        total += F.l1_loss(model(lightness).float(), ab, reduction="sum").item() / ab[0].numel()
        count += crops.shape[0]
    model.train()
    return total / max(1, count)


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def train(config: TrainConfig, progress: Callable[[Progress], None] | None = None) -> TrainResult:
    """Train a colorization network as `config` says; see the module docstring."""
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    world = distributed.join(config.device)
    try:
        return _train(config, world, progress)
    finally:
        distributed.leave(world)


def _train(config: TrainConfig, world: distributed.World, progress: Callable | None) -> TrainResult:
    if config.batch_size % world.size:
        raise ColorplugError(f"batch size {config.batch_size} must divide by the {world.size} ranks")
    out = Path(config.out)
    if world.is_main:
        out.mkdir(parents=True, exist_ok=True)
    device = world.device
    torch.manual_seed(config.seed)
    compute = loss_fn(config.loss, device)
    paths = select_paths(config.data, config.limit, config.seed)
    dataset = _dataset(paths, config)
    local_batch = config.batch_size // world.size
    sampler = DistributedSampler(
        dataset,
        num_replicas=world.size,
        rank=world.rank,
        shuffle=True,
        seed=config.seed,
        drop_last=True,
    )
    loader = _batches(dataset, sampler, local_batch, config.workers, device)
    if len(loader) == 0:
        raise ColorplugError(f"{len(dataset)} images are fewer than one batch of {config.batch_size}")
    val_loader = None
    if config.val:
        val_set = ColorImages(select_paths(config.val, 0, config.seed), config.image_size)
        val_loader = DataLoader(val_set, batch_size=local_batch, num_workers=config.workers)

    model = create_model(config.arch, config.width).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
    ema = EMA(model, config.ema) if config.ema > 0 else None
    start_epoch, step = 0, 0
    checkpoint_path = out / CHECKPOINT
    if config.resume:
        start_epoch, step = _load_checkpoint(checkpoint_path, model, optimizer, ema, compute, device)
    if world.distributed:
        if world.size > 1 and device.type == "cuda":  # statistics over the global batch (CUDA only)
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    log_path = out / LOG
    if world.is_main:
        _truncate_log(log_path, start_epoch)

    began = time.perf_counter()
    deadline = began + config.time_limit_min * 60 if config.time_limit_min > 0 else math.inf
    epoch, mean_loss, stopped_early = start_epoch, float("nan"), False
    for epoch in range(start_epoch, config.epochs):
        sampler.set_epoch(epoch)
        augment = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        model.train()
        epoch_start = time.perf_counter()
        waited, loss_sum, loss_count, seen = 0.0, 0.0, 0, 0
        fetch_start = time.perf_counter()
        for batch in loader:
            waited += time.perf_counter() - fetch_start
            fraction = (epoch + loss_count / len(loader)) / config.epochs
            if config.time_limit_min > 0:
                fraction = max(fraction, (time.perf_counter() - began) / (config.time_limit_min * 60))
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, fraction)
            crops = _augment_local(batch.to(device, non_blocking=True), config, world, augment)
            lightness, target, colourful = to_lab_batch(crops)
            if not bool(colourful.any()):
                fetch_start = time.perf_counter()
                continue
            lightness, target = lightness[colourful], target[colourful]
            if device.type == "cuda":
                lightness = lightness.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                prediction = model(lightness)
            loss = compute(prediction.float(), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if ema is not None:
                ema.update(_unwrap(model))
            step += 1
            loss_sum += loss.item()
            loss_count += 1
            seen += crops.shape[0] * world.size
            if progress and world.is_main:
                rate = seen / max(1e-9, time.perf_counter() - epoch_start)
                progress(
                    Progress(
                        epoch + 1,
                        config.epochs,
                        seen,
                        len(loader) * config.batch_size,
                        loss_sum / loss_count,
                        rate,
                    )
                )
            fetch_start = time.perf_counter()
            if time.perf_counter() > deadline:
                stopped_early = True
                break
        elapsed = time.perf_counter() - epoch_start
        if loss_count == 0 and not stopped_early:
            raise ColorplugError("no colourful images to learn from: the training images are all near-gray")
        mean_loss = distributed.mean_across(world, loss_sum / max(1, loss_count))
        val = validation_loss(_unwrap(model), val_loader, device, config.image_size) if val_loader else None
        if world.is_main:
            _append_log(
                log_path,
                epoch + 1,
                step,
                seen,
                mean_loss,
                val,
                seen / max(elapsed, 1e-9),
                waited / max(elapsed, 1e-9),
                optimizer.param_groups[0]["lr"],
                time.perf_counter() - began,
            )
            if not stopped_early:
                _save_checkpoint(
                    checkpoint_path,
                    _unwrap(model),
                    optimizer,
                    ema,
                    compute,
                    epoch + 1,
                    step,
                    config,
                )
        distributed.barrier(world)
        if stopped_early:
            break
    epochs_done = epoch + (0 if stopped_early else 1)
    wall = time.perf_counter() - began
    weights_path = out / f"{config.name}.pt"
    entry_path = out / "manifest_entry.json"
    if world.is_main:
        final_state = ema.state if ema is not None else _unwrap(model).state_dict()
        sha = save_weights_file(
            weights_path, config.arch, config.width, final_state, render_size=config.image_size
        )
        entry = _manifest_entry(
            config,
            weights_path,
            sha,
            len(dataset),
            epochs_done,
            step,
            mean_loss,
            wall,
            device,
            _unwrap(model),
            world.size,
        )
        with atomic_path(entry_path) as temp:
            temp.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
    return TrainResult(weights_path, entry_path, epochs_done, mean_loss, wall, step, world.rank, world.size)


class _CachedBatches:
    """Batches gathered straight from a decoded data set held on the training device."""

    def __init__(self, images: torch.Tensor, sampler: DistributedSampler, batch_size: int) -> None:
        self.images, self.sampler, self.batch_size = images, sampler, batch_size

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size

    def __iter__(self):
        order = torch.tensor(list(self.sampler))
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.images[order[start : start + self.batch_size].to(self.images.device)]


def _batches(
    dataset: torch.utils.data.Dataset,
    sampler: DistributedSampler,
    batch_size: int,
    workers: int,
    device: torch.device,
):
    """Iterable of uint8 batches: from memory when the set was decoded up front, else from workers."""
    if isinstance(dataset, CachedImages):
        return _CachedBatches(dataset.images.to(device), sampler, batch_size)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )


def _augment_local(
    batch: torch.Tensor, config: TrainConfig, world: distributed.World, generator: torch.Generator
) -> torch.Tensor:
    """Random crops and flips drawn for the whole global batch, this rank applying its own share.

    Every rank draws the same numbers, so N ranks see exactly the crops one process would.
    """
    crops = random_crops(batch.shape[0] * world.size, batch.shape[-1], config.image_size, generator)
    return crop_flip(batch, config.image_size, crops[world.rank :: world.size])


def _save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: EMA | None,
    loss: Callable,
    epoch: int,
    step: int,
    config: TrainConfig,
) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "ema": ema.state if ema is not None else None,
        "loss_prior": loss.prior if isinstance(loss, RebalancedL1) else None,
        "epoch": epoch,
        "step": step,
        "config": json.dumps(asdict(config)),
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    with atomic_path(path) as temp:
        torch.save(state, temp)


def _load_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: EMA | None,
    loss: Callable,
    device: torch.device,
) -> tuple[int, int]:
    if not path.is_file():
        raise ColorplugError(f"--resume: no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, KeyError, EOFError, ValueError) as exc:
        raise ColorplugError(f"--resume: checkpoint {path} is unusable: {str(exc).splitlines()[0]}") from None
    if ema is not None and state.get("ema") is not None:
        ema.state = state["ema"]
    if isinstance(loss, RebalancedL1) and state.get("loss_prior") is not None:
        loss.prior = state["loss_prior"]
    torch.set_rng_state(state["rng"].cpu())
    if state.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
    return int(state["epoch"]), int(state["step"])


LOG_FIELDS = [
    "epoch",
    "step",
    "images",
    "loss",
    "val_loss",
    "images_per_s",
    "data_wait_fraction",
    "lr",
    "elapsed_s",
]


def _truncate_log(path: Path, epochs_kept: int) -> None:
    """Keep the header and the rows of the epochs a resumed run does not redo."""
    rows = []
    if path.is_file() and epochs_kept > 0:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.DictReader(handle) if int(row["epoch"]) <= epochs_kept]
    with atomic_path(path) as temp, open(temp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _append_log(
    path: Path,
    epoch: int,
    step: int,
    images: int,
    loss: float,
    val: float | None,
    rate: float,
    wait: float,
    lr: float,
    elapsed: float,
) -> None:
    with open(path, "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(
            [
                epoch,
                step,
                images,
                f"{loss:.6f}",
                "" if val is None else f"{val:.6f}",
                f"{rate:.2f}",
                f"{wait:.4f}",
                f"{lr:.3g}",
                f"{elapsed:.1f}",
            ]
        )


def _manifest_entry(
    config: TrainConfig,
    weights: Path,
    sha: str,
    images: int,
    epochs_done: int,
    steps: int,
    loss: float,
    wall: float,
    device: torch.device,
    model: torch.nn.Module,
    ranks: int,
) -> dict:
    recipe = {
        key: value
        for key, value in asdict(config).items()
        if key not in ("out", "name", "resume", "device", "data_license", "workers")
    }
    return {
        "file": weights.name,
        "sha256": sha,
        "arch": config.arch,
        "width": config.width,
        "render_size": config.image_size,
        "parameters": count_parameters(model),
        "data": {"folders": config.data, "images": images, "license": config.data_license},
        "recipe": {**recipe, "epochs_done": epochs_done, "steps": steps, "ranks": ranks},
        "final_train_loss": round(loss, 6),
        "command": shlex.join(["colorplug", *sys.argv[1:]]),
        "wall_time_s": round(wall, 1),
        "hardware": _hardware(device) + (f" x {ranks} ranks" if ranks > 1 else ""),
        "host_cpus": os.cpu_count(),
    }
