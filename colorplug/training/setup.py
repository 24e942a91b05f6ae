"""Setting a training run up from its config: the data, the network with its starting parameters, the loss,
the precision, the optimizer and the EMA, and the checkpoint's state when resuming.

The order is part of the recipe: the network is made after the data, so a seed always gives the same
initial parameters, and a resumed run restores the RNG state its checkpoint saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from colorplug.color.chroma import ab_bins
from colorplug.errors import ColorplugError, SettingError
from colorplug.hints.maps import simulate
from colorplug.nets.registry import (
    ARCHITECTURES,
    CLASSES,
    NetworkConfig,
    architecture,
    create_model,
    load_pretrained_encoder,
)
from colorplug.nets.weights import mismatch, read_weights_file
from colorplug.training import distributed, precision
from colorplug.training.checkpoints import CHECKPOINT, checkpoint_field, load_checkpoint
from colorplug.training.config import TrainConfig
from colorplug.training.data import (
    ColorImages,
    batches,
    crop_flip,
    dataset_for,
    random_crops,
    select_paths,
    to_lab_batch,
)
from colorplug.training.ema import EMA
from colorplug.training.log import LOG, truncate_log
from colorplug.training.losses import LOSSES
from colorplug.training.objective import ChromaLoss, class_weights_for


@dataclass
class Run:
    """Everything the training loop works with, made by set_up."""

    config: TrainConfig
    world: distributed.World
    out: Path
    network: NetworkConfig  # what the weights file will say
    dataset: torch.utils.data.Dataset
    sampler: DistributedSampler
    loader: Iterable[torch.Tensor]
    val_loader: DataLoader | None
    model: torch.nn.Module  # wrapped in DistributedDataParallel under torchrun
    bins: torch.Tensor | None
    loss: ChromaLoss
    optimizer: torch.optim.Optimizer
    ema: EMA | None
    start_epoch: int = 0
    step: int = 0
    precision: str = "fp32"
    precision_timings: dict[str, float] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return self.world.device

    @property
    def bare_model(self) -> torch.nn.Module:
        """The network itself, outside its DistributedDataParallel wrapper."""
        return self.model.module if isinstance(self.model, DistributedDataParallel) else self.model


def set_up(config: TrainConfig, world: distributed.World) -> Run:
    """Data, model (with its starting parameters), loss, optimizer; the checkpoint's state when resuming."""
    out = _checked_out(config, world)
    device = world.device
    torch.manual_seed(config.random_seed)
    dataset, sampler, loader, val_loader = _data(config, world)
    model = _model(config).to(device)  # after the data: the same random state as ever
    bins = model.bins if CLASSES in architecture(config.arch).heads else None
    loss = _loss(config, model, dataset, bins, device)
    chosen, timings = _choose_precision(config, model, dataset, loss, bins, device, out)
    chosen = distributed.from_main(world, chosen)  # ranks timing alone could disagree
    model = precision.prepare(model, chosen, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
    ema = EMA(model, config.ema) if config.ema > 0 else None
    start_epoch, step = 0, 0
    if config.resume:
        start_epoch, step = load_checkpoint(out / CHECKPOINT, model, optimizer, ema, loss, device)
        _refuse_if_done(config, out, start_epoch)
    model = _distributed(model, world)
    if world.is_main:
        out.mkdir(parents=True, exist_ok=True)
        truncate_log(out / LOG, start_epoch)
    return Run(
        config,
        world,
        out,
        NetworkConfig.of(config.arch, config.width, LOSSES[config.loss].heads),
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


def _checked_out(config: TrainConfig, world: distributed.World) -> Path:
    """The output folder, once the batch divides among the ranks and resuming has a checkpoint."""
    if config.batch_size % world.size:
        raise ColorplugError(f"batch size {config.batch_size} must divide by the {world.size} ranks")
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise SettingError("{out} {path} is a file, not a folder", ["out"], path=out)
    if config.resume and not (out / CHECKPOINT).is_file():
        raise SettingError("{resume}: no checkpoint at {path}", ["resume"], path=out / CHECKPOINT)
    return out


def _data(config: TrainConfig, world: distributed.World) -> tuple:
    """The training set, its sampler and batches (this rank's share), and the validation batches."""
    paths = select_paths(config.data, config.limit, config.random_seed)
    dataset = dataset_for(paths, config.image_size, config.preload, config.workers)
    local_batch = config.batch_size // world.size
    sampler = DistributedSampler(
        dataset,
        num_replicas=world.size,
        rank=world.rank,
        shuffle=True,
        seed=config.random_seed,
        drop_last=True,
    )
    loader = batches(dataset, sampler, local_batch, config.workers, world.device)
    if len(loader) == 0:
        raise ColorplugError(f"{len(dataset)} images are fewer than one batch of {config.batch_size}")
    val_loader = None
    if config.val:
        val_set = ColorImages(select_paths(config.val, 0, config.random_seed), config.image_size)
        val_loader = DataLoader(val_set, batch_size=local_batch, num_workers=config.workers)
    return dataset, sampler, loader, val_loader


def _model(config: TrainConfig) -> torch.nn.Module:
    """A new network of the configured architecture, checked against what the config asks of it, with
    its starting parameters: a weights file's (fine-tuning), else ImageNet's for a pretrained encoder;
    and the ab bins of networks that predict a distribution over them."""
    model = create_model(config.arch, config.width)
    spec = architecture(config.arch)
    if config.simulate_hints and not spec.takes_hints:
        hinted = ", ".join(name for name, entry in ARCHITECTURES.items() if entry.takes_hints)
        raise SettingError(
            "{simulate_hints}: architecture {arch} takes no colour hints (use {hinted})",
            ["simulate_hints"],
            arch=config.arch,
            hinted=hinted,
        )
    if LOSSES[config.loss].classification and CLASSES not in spec.heads:
        template = "{loss} {name}: architecture {arch} has no ab-bin head"
        raise SettingError(template, ["loss"], name=config.loss, arch=config.arch)
    if config.init_from:
        _load_init(model, config)
        return model
    if config.encoder_init == "imagenet":
        load_pretrained_encoder(model, config.arch)
    if CLASSES in spec.heads:
        model.bins.copy_(ab_bins())
    return model


def _load_init(model: torch.nn.Module, config: TrainConfig) -> None:
    """Fine-tuning: the parameters of the weights file `init_from`, which must fit the architecture."""
    loaded = read_weights_file(Path(config.init_from))
    if loaded.network.arch != config.arch:
        template = "{init_from} {path} is a {found} model, not {arch}"
        raise SettingError(
            template, ["init_from"], path=config.init_from, found=loaded.network.arch, arch=config.arch
        )
    try:
        model.load_state_dict(loaded.float_state_dict())
    except RuntimeError as exc:
        raise SettingError(
            "{init_from} {path} does not fit {width} {value:g}: {why}",
            ["init_from", "width"],
            path=config.init_from,
            value=config.width,
            why=mismatch(exc),
        ) from None


def _loss(
    config: TrainConfig,
    model: torch.nn.Module,
    dataset: torch.utils.data.Dataset,
    bins: torch.Tensor | None,
    device: torch.device,
) -> ChromaLoss:
    """The configured loss; for the cross-entropy, with rebalancing weights from the training colours,
    which the network keeps to undo the rebalancing when decoding (see color/chroma.py)."""
    class_weights = None
    if LOSSES[config.loss].classification:
        class_weights = class_weights_for(dataset, bins, config.rebalance)
        model.class_weights.copy_(class_weights)
    return ChromaLoss(LOSSES[config.loss], config.l1_weight, device, class_weights)


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
        saved = checkpoint_field(out / CHECKPOINT, "precision")
        return (saved or "fp32"), {}
    if config.precision != "auto":
        return config.precision, {}
    count = min(len(dataset), config.batch_size)
    sample = torch.stack([dataset[i] for i in range(count)]).to(device)
    crops = random_crops(count, sample.shape[-1], config.image_size, torch.Generator().manual_seed(0))
    lightness, target, _ = to_lab_batch(crop_flip(sample, config.image_size, crops))
    lightness = lightness.contiguous(memory_format=torch.channels_last)
    given = (
        simulate(target.cpu(), torch.Generator().manual_seed(0)).to(device) if config.simulate_hints else None
    )

    def step(trial: torch.nn.Module, chosen: str) -> None:
        with precision.autocast(chosen, device):
            prediction = trial(lightness, given)
        loss(prediction, target, bins).backward()
        trial.zero_grad(set_to_none=True)

    return precision.choose(config.precision, model, device, step)


def _refuse_if_done(config: TrainConfig, out: Path, epochs_done: int) -> None:
    """A resumed run must have epochs left to do."""
    if epochs_done >= config.epochs:
        raise SettingError(
            "{resume}: the run in {path} has done its {done} epochs; ask for more with {epochs}",
            ["resume", "epochs"],
            path=out,
            done=epochs_done,
        )


def _distributed(model: torch.nn.Module, world: distributed.World) -> torch.nn.Module:
    """The model wrapped for torchrun (with synchronized BatchNorm on CUDA), or as it is alone."""
    if not world.distributed:
        return model
    if world.size > 1 and world.device.type == "cuda":  # statistics over the global batch (CUDA only)
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return DistributedDataParallel(
        model, device_ids=[world.device.index] if world.device.type == "cuda" else None
    )
