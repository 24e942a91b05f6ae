"""Training, nanoGPT style: one readable loop with the paper's recipe as defaults.

Defaults: Adam lr 2e-4, beta1 0.5, L1 loss on ab / 128, 256x256 crops, 100 epochs. `lite0-unet` starts
from the ImageNet EfficientNet-Lite0 and can learn a distribution over ab bins (`--loss ce` or `blend`,
see chroma.py) and to follow colour hints simulated from the ground truth (`--hints`). Each epoch ends
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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from colorplug import distributed, hints, precision
from colorplug.chroma import ab_bins, bin_histogram, classification_loss, rebalancing_weights
from colorplug.data import (
    CachedImages,
    ColorImages,
    crop_flip,
    list_training_images,
    random_crops,
    to_lab_batch,
)
from colorplug.efficientnet import load_pretrained
from colorplug.errors import ColorplugError
from colorplug.files import atomic_path
from colorplug.lab import denormalize_ab
from colorplug.model import Chroma, count_parameters, create_model, mismatch
from colorplug.weights import read_weights_file, save_weights_file

REGRESSION_LOSSES = ("l1", "l2", "huber", "rebalanced")
LOSSES = (*REGRESSION_LOSSES, "ce", "blend")
ENCODER_INITS = ("imagenet", "random")
HISTOGRAM_IMAGES = 2000  # images whose colours make the rebalancing prior
VAL_HINTS = 10  # the validation loss is also logged with this many ground-truth hints per image
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
    rebalance: float = 0.5  # ce/blend: lambda, the uniform share mixed into the prior before inverting
    l1_weight: float = 10.0  # blend: weight of the L1 term beside the cross-entropy
    encoder_init: str = "imagenet"  # lite0-unet: start from ImageNet weights, or random (the control)
    init_from: str = ""  # start from the parameters of this weights file (fine-tuning)
    hints: bool = False  # simulate colour hints from the ground truth (hint-capable architectures)
    schedule: str = "constant"
    ema: float = 0.0
    limit: int = 0
    val: list[str] = field(default_factory=list)
    workers: int = 2
    preload: str = "auto"
    device: str | None = None
    threads: int = 0  # CPU threads for torch (0: torch's default)
    precision: str = "auto"  # fp32, bf16 (autocast where it is faster), auto: the faster one, measured
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


def regression_loss(name: str, device: torch.device) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A loss between predicted and target ab / 128."""
    if name == "l1":
        return F.l1_loss
    if name == "l2":
        return F.mse_loss
    if name == "huber":
        return lambda pred, target: F.smooth_l1_loss(pred, target, beta=0.05)
    if name == "rebalanced":
        return RebalancedL1(device)
    raise ColorplugError(f"unknown loss {name!r} (use {', '.join(LOSSES)})")


class ChromaLoss:
    """The training loss of a Chroma prediction against target ab / 128 (N, 2, H, W).

    Regression losses compare the ab head; `ce` is the rebalanced cross-entropy of the bin logits
    against the target averaged over 4x4 cells (the logits' resolution); `blend` adds l1_weight x L1.
    """

    def __init__(self, config: TrainConfig, device: torch.device, class_weights: torch.Tensor | None) -> None:
        self.name = config.loss
        self.l1_weight = config.l1_weight
        self.class_weights = class_weights
        regression = "l1" if config.loss == "blend" else config.loss
        self.regression = None if config.loss == "ce" else regression_loss(regression, device)

    @property
    def prior(self) -> torch.Tensor | None:
        return self.regression.prior if isinstance(self.regression, RebalancedL1) else None

    @prior.setter
    def prior(self, value: torch.Tensor) -> None:
        self.regression.prior = value

    def __call__(self, prediction: Chroma, target: torch.Tensor, bins: torch.Tensor | None) -> torch.Tensor:
        loss = self.regression(prediction.ab.float(), target) if self.regression else 0.0
        if self.name in ("ce", "blend"):
            small = denormalize_ab(F.avg_pool2d(target, 4, ceil_mode=True))
            ce = classification_loss(prediction.logits.float(), small, bins, self.class_weights)
            loss = ce + self.l1_weight * loss if self.name == "blend" else ce
        return loss


def heads_of(loss: str) -> list[str]:
    """Which of a model's heads a loss trains (what the weights file says can be decoded)."""
    if loss == "ce":
        return ["classes"]
    return ["regression", "classes"] if loss == "blend" else ["regression"]


def class_weights_for(dataset: torch.utils.data.Dataset, bins: torch.Tensor, mix: float) -> torch.Tensor:
    """Rebalancing weights from the colours of up to HISTOGRAM_IMAGES training images, taken evenly
    through the set, at the 4x4-cell resolution the classification head works at."""
    picked = torch.linspace(0, len(dataset) - 1, min(HISTOGRAM_IMAGES, len(dataset))).long()
    counts = torch.zeros(bins.shape[0], dtype=torch.float64)
    for chunk in picked.split(64):
        _, ab, _ = to_lab_batch(torch.stack([dataset[int(i)] for i in chunk]).to(bins.device))
        counts += bin_histogram(denormalize_ab(F.avg_pool2d(ab, 4)), bins).cpu()
    return rebalancing_weights(counts, bins.cpu(), mix).to(bins.device)


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
            given = torch.stack(
                [
                    hints.sample_points(denormalize_ab(one), VAL_HINTS, seed=count + i)
                    for i, one in enumerate(ab)
                ]
            )
            predicted = model(lightness, given).ab.float()
            totals["val_loss_hints"] += F.l1_loss(predicted, ab, reduction="sum").item()
        count += crops.shape[0]
    model.train()
    return {key: total / max(1, count) / (2 * size * size) for key, total in totals.items()}


def _initialize(model: torch.nn.Module, config: TrainConfig) -> None:
    """Starting parameters: a weights file's (fine-tuning), else ImageNet's for a Lite0 encoder; and
    the ab bins of models that predict a distribution over them."""
    if config.init_from:
        loaded = read_weights_file(Path(config.init_from))
        if loaded.arch != config.arch:
            raise ColorplugError(
                f"--init-from {config.init_from} is a {loaded.arch} model, not {config.arch}"
            )
        try:
            model.load_state_dict(
                {k: v.float() if v.is_floating_point() else v for k, v in loaded.state_dict.items()}
            )
        except RuntimeError as exc:
            raise ColorplugError(
                f"--init-from {config.init_from} does not fit --width {config.width:g}: {mismatch(exc)}"
            ) from None
        return
    if config.encoder_init == "imagenet" and hasattr(model.encoder, "taps"):
        load_pretrained(model.encoder)
    if hasattr(model, "bins"):
        model.bins.copy_(ab_bins())


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def train(config: TrainConfig, progress: Callable[[Progress], None] | None = None) -> TrainResult:
    """Train a colorization network as `config` says: set up, run the epochs, write the results."""
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    world = distributed.join(config.device)
    try:
        run = _setup(config, world)
        epochs_done, mean_loss, wall = _run_epochs(run, progress)
        return _write_results(run, epochs_done, mean_loss, wall)
    finally:
        distributed.leave(world)


@dataclass
class _Run:
    """Everything the training loop works with, made by _setup."""

    config: TrainConfig
    world: distributed.World
    out: Path
    dataset: torch.utils.data.Dataset
    sampler: DistributedSampler
    loader: Iterable[torch.Tensor]
    val_loader: DataLoader | None
    model: torch.nn.Module  # wrapped in DistributedDataParallel under torchrun
    bins: torch.Tensor | None
    loss: ChromaLoss
    optimizer: torch.optim.Optimizer
    ema: EMA | None
    start_epoch: int
    step: int
    precision: str = "fp32"
    precision_timings: dict[str, float] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return self.world.device


def _setup(config: TrainConfig, world: distributed.World) -> _Run:
    """Data, model (with its starting parameters), loss, optimizer; the checkpoint when resuming."""
    if config.batch_size % world.size:
        raise ColorplugError(f"batch size {config.batch_size} must divide by the {world.size} ranks")
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise ColorplugError(f"--out {out} is a file, not a folder")
    device = world.device
    torch.manual_seed(config.seed)
    if config.resume and not (out / CHECKPOINT).is_file():
        raise ColorplugError(f"--resume: no checkpoint at {out / CHECKPOINT}")
    paths = select_paths(config.data, config.limit, config.seed)
    dataset = _dataset(paths, config)
    local_batch = config.batch_size // world.size
    sampler = DistributedSampler(
        dataset, num_replicas=world.size, rank=world.rank, shuffle=True, seed=config.seed, drop_last=True
    )
    loader = _batches(dataset, sampler, local_batch, config.workers, device)
    if len(loader) == 0:
        raise ColorplugError(f"{len(dataset)} images are fewer than one batch of {config.batch_size}")
    val_loader = None
    if config.val:
        val_set = ColorImages(select_paths(config.val, 0, config.seed), config.image_size)
        val_loader = DataLoader(val_set, batch_size=local_batch, num_workers=config.workers)
    model = create_model(config.arch, config.width)  # after the data: the same random state as ever
    if config.hints and not model.supports_hints:
        raise ColorplugError(f"--hints: architecture {config.arch} takes no colour hints (use lite0-unet)")
    if config.loss in ("ce", "blend") and not hasattr(model, "bins"):
        raise ColorplugError(f"--loss {config.loss}: architecture {config.arch} has no ab-bin head")
    _initialize(model, config)
    model = model.to(device)
    bins = model.bins if hasattr(model, "bins") else None
    class_weights = None
    if config.loss in ("ce", "blend"):
        class_weights = class_weights_for(dataset, bins, config.rebalance)
        model.class_weights.copy_(class_weights)  # decoding undoes the rebalancing with them (chroma.py)
    loss = ChromaLoss(config, device, class_weights)
    chosen, timings = _choose_precision(config, model, dataset, loss, bins, device, out)
    chosen = distributed.from_main(world, chosen)  # ranks timing alone could disagree
    model = precision.prepare(model, chosen, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
    ema = EMA(model, config.ema) if config.ema > 0 else None
    start_epoch, step = 0, 0
    if config.resume:
        start_epoch, step = _load_checkpoint(out / CHECKPOINT, model, optimizer, ema, loss, device)
        if start_epoch >= config.epochs:
            raise ColorplugError(
                f"--resume: the run in {out} has done its {start_epoch} epochs; ask for more with --epochs"
            )
    if world.distributed:
        if world.size > 1 and device.type == "cuda":  # statistics over the global batch (CUDA only)
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if world.is_main:
        out.mkdir(parents=True, exist_ok=True)
        _truncate_log(out / LOG, start_epoch)
    return _Run(
        config,
        world,
        out,
        dataset,
        sampler,
        loader,
        val_loader,
        model,
        bins,
        loss,
        optimizer,
        ema,
        start_epoch,
        step,
        chosen,
        timings,
    )


def _choose_precision(
    config: TrainConfig,
    model: torch.nn.Module,
    dataset: torch.utils.data.Dataset,
    loss: ChromaLoss,
    bins: torch.Tensor | None,
    device: torch.device,
    out: Path,
) -> tuple[str, dict[str, float]]:
    """The precision of this run: a resumed run keeps its checkpoint's (so it continues exactly), else
    the requested one, or for `auto` the faster on a few steps of one real batch (on a copy)."""
    if config.resume:
        saved = _checkpoint_field(out / CHECKPOINT, "precision")
        return (saved or "fp32"), {}
    count = min(len(dataset), config.batch_size)
    sample = torch.stack([dataset[i] for i in range(count)]).to(device)
    crops = crop_flip(
        sample,
        config.image_size,
        random_crops(count, sample.shape[-1], config.image_size, torch.Generator().manual_seed(0)),
    )
    lightness, target, _ = to_lab_batch(crops)
    lightness = lightness.contiguous(memory_format=torch.channels_last)
    given = (
        hints.simulate(target.cpu(), torch.Generator().manual_seed(0)).to(device) if config.hints else None
    )

    def step(trial: torch.nn.Module, chosen: str) -> None:
        with precision.autocast(chosen, device):
            prediction = trial(lightness, given)
        loss(prediction, target, bins).backward()
        trial.zero_grad(set_to_none=True)

    return precision.choose(config.precision, model, device, step)


def _train_step(run: _Run, batch: torch.Tensor, augment: torch.Generator, fraction: float) -> float | None:
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
    given = hints.simulate(target.cpu(), augment).to(device) if config.hints else None
    lightness = lightness.contiguous(memory_format=torch.channels_last)
    with precision.autocast(run.precision, device):
        prediction = run.model(lightness, given)
    loss = run.loss(prediction, target, run.bins)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    if run.ema is not None:
        run.ema.update(_unwrap(run.model))
    run.step += 1
    return loss.item()


def _run_epochs(run: _Run, progress: Callable[[Progress], None] | None) -> tuple[int, float, float]:
    """The training loop: epochs of steps, a log row and a checkpoint after each. Returns the epochs done,
    the last epoch's mean loss and the wall time. Batches with fewer than two colourful photos are skipped."""
    config, world = run.config, run.world
    began = time.perf_counter()
    deadline = began + config.time_limit_min * 60 if config.time_limit_min > 0 else math.inf
    epoch, mean_loss, stopped_early = run.start_epoch, float("nan"), False
    for epoch in range(run.start_epoch, config.epochs):
        run.sampler.set_epoch(epoch)
        augment = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        run.model.train()
        epoch_start = time.perf_counter()
        waited, loss_sum, loss_count, seen = 0.0, 0.0, 0, 0
        fetch_start = time.perf_counter()
        for batch in run.loader:
            waited += time.perf_counter() - fetch_start
            fraction = (epoch + loss_count / len(run.loader)) / config.epochs
            if config.time_limit_min > 0:
                fraction = max(fraction, (time.perf_counter() - began) / (config.time_limit_min * 60))
            loss = _train_step(run, batch, augment, fraction)
            if loss is not None:
                loss_sum += loss
                loss_count += 1
                seen += batch.shape[0] * world.size
                if progress and world.is_main:
                    rate = seen / max(1e-9, time.perf_counter() - epoch_start)
                    total = len(run.loader) * config.batch_size
                    progress(Progress(epoch + 1, config.epochs, seen, total, loss_sum / loss_count, rate))
            fetch_start = time.perf_counter()
            if time.perf_counter() > deadline:
                stopped_early = True
                break
        elapsed = time.perf_counter() - epoch_start
        if loss_count == 0 and not stopped_early:
            raise ColorplugError("no colourful images to learn from: the training images are all near-gray")
        mean_loss = distributed.mean_across(world, loss_sum / max(1, loss_count))
        val = {}
        if run.val_loader is not None:
            val = validation_loss(
                _unwrap(run.model), run.val_loader, run.device, config.image_size, config.hints
            )
        if world.is_main:
            row = {
                "epoch": epoch + 1,
                "step": run.step,
                "images": seen,
                "loss": f"{mean_loss:.6f}",
                **{key: f"{value:.6f}" for key, value in val.items()},
                "images_per_s": f"{seen / max(elapsed, 1e-9):.2f}",
                "data_wait_fraction": f"{waited / max(elapsed, 1e-9):.4f}",
                "lr": f"{run.optimizer.param_groups[0]['lr']:.3g}",
                "elapsed_s": f"{time.perf_counter() - began:.1f}",
            }
            _append_log(run.out / LOG, row)
            if not stopped_early:
                _save_checkpoint(run, epoch + 1)
        distributed.barrier(world)
        if stopped_early:
            break
    return epoch + (0 if stopped_early else 1), mean_loss, time.perf_counter() - began


def _write_results(run: _Run, epochs_done: int, mean_loss: float, wall: float) -> TrainResult:
    """The weights file (EMA weights when enabled) and its manifest entry, written by rank 0."""
    config, world = run.config, run.world
    weights_path = run.out / f"{config.name}.pt"
    entry_path = run.out / "manifest_entry.json"
    if world.is_main:
        model = _unwrap(run.model)
        final_state = run.ema.state if run.ema is not None else model.state_dict()
        sha = save_weights_file(
            weights_path,
            config.arch,
            config.width,
            final_state,
            render_size=config.image_size,
            heads=heads_of(config.loss),
        )
        entry = _manifest_entry(
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


def _save_checkpoint(run: _Run, epoch: int) -> None:
    state = {
        "model": _unwrap(run.model).state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "ema": run.ema.state if run.ema is not None else None,
        "loss_prior": run.loss.prior,
        "epoch": epoch,
        "step": run.step,
        "precision": run.precision,
        "config": json.dumps(asdict(run.config)),
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    with atomic_path(run.out / CHECKPOINT) as temp:
        torch.save(state, temp)


def _checkpoint_field(path: Path, key: str):
    """One field of a checkpoint (None when absent or unreadable: _load_checkpoint then says why)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True).get(key)
    except Exception:  # damaged: reported by _load_checkpoint with the other checks
        return None


def _load_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: EMA | None,
    loss: ChromaLoss,
    device: torch.device,
) -> tuple[int, int]:
    """Restore a checkpoint written by _save_checkpoint; one clear line if it is damaged or another run's."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        epoch, step = int(state["epoch"]), int(state["step"])
    except Exception:  # damaged bytes (torch's own message would advise unsafe loading: not shown)
        raise ColorplugError(f"--resume: checkpoint {path} is damaged (cannot be read)") from None
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None and state.get("ema") is not None:
            ema.state = state["ema"]
        if loss.prior is not None and state.get("loss_prior") is not None:
            loss.prior = state["loss_prior"]
        torch.set_rng_state(state["rng"].cpu())
        if state.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
    except Exception as exc:  # another architecture, width or optimizer
        raise ColorplugError(
            f"--resume: checkpoint {path} does not fit this setup (other --arch or --width?): {mismatch(exc)}"
        ) from None
    return epoch, step


LOG_FIELDS = [
    "epoch",
    "step",
    "images",
    "loss",
    "val_loss",
    "val_loss_hints",
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


def _append_log(path: Path, row: dict) -> None:
    with open(path, "a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, LOG_FIELDS, restval="").writerow(row)


def _manifest_entry(
    config: TrainConfig,
    *,
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
    precision: dict,
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
        "heads": heads_of(config.loss),
        "data": {"folders": config.data, "images": images, "license": config.data_license},
        "recipe": {**recipe, "epochs_done": epochs_done, "steps": steps, "ranks": ranks},
        "final_train_loss": round(loss, 6) if math.isfinite(loss) else None,
        "command": shlex.join(["colorplug", *sys.argv[1:]]),
        "wall_time_s": round(wall, 1),
        "hardware": _hardware(device) + (f" x {ranks} ranks" if ranks > 1 else ""),
        "precision": precision,
        "host_cpus": os.cpu_count(),
    }
