"""Every knob of a training run, each declared once: its default, its help text and the values it takes.

TrainConfig is the source of `colorplug train`'s options (the command line builds them from these fields,
`flag` naming those whose option is not the field's name) and checks the values Python callers give.
The choices come from their registries (architectures, encoder inits, losses). Importable without torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from colorplug.errors import SettingError
from colorplug.nets.registry import ARCHITECTURES, ENCODER_INITS, MAX_WIDTH
from colorplug.training.losses import LOSSES

SCHEDULES = {"constant": "the paper's", "cosine": "cosine decay to 1% over the run (epochs or time limit)"}
PRELOADS = ("auto", "yes", "no")
PRECISIONS = ("auto", "fp32", "bf16")


def setting(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    choices: tuple[str, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
    metavar: str | None = None,
) -> Any:
    """A TrainConfig field: its default, its help text, its command-line flag when that is not the
    field's name, and the values it takes (choices, or bounds that are open where said)."""
    bounds = {"low": low, "high": high, "open_low": open_low, "open_high": open_high}
    metadata = {"help": help, "flag": flag, "choices": choices, "metavar": metavar, **bounds}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _described(registry: dict[str, Any]) -> str:
    """'name: what it is; ...' for the help text of a choice among a registry's entries."""
    return "; ".join(f"{name}: {getattr(entry, 'summary', entry)}" for name, entry in registry.items())


@dataclass
class TrainConfig:
    """Every knob of a training run (the founding paper's recipe by default)."""

    data: list[str] = setting([], "Folders of colour photos to train on.")
    out: str = setting("runs/train", "Folder for checkpoint, log and weights.")
    name: str = setting("custom", "Name of the weights produced.")
    arch: str = setting("seed", _described(ARCHITECTURES), choices=tuple(ARCHITECTURES))
    width: float = setting(1.0, "Width multiplier of the filters.", low=0.05, high=MAX_WIDTH)
    image_size: int = setting(256, "Side of the square training crops.", low=32, high=2048)
    batch_size: int = setting(16, "Photos per step (the global batch under torchrun).", low=1)
    epochs: int = setting(100, "Passes over the training photos.", low=1)
    lr: float = setting(2e-4, "Adam's learning rate.", low=0, high=1, open_low=True)
    beta1: float = setting(0.5, "Adam's beta1.", low=0, high=1, open_high=True)
    beta2: float = setting(0.999, "Adam's beta2.", low=0, high=1, open_high=True)
    loss: str = setting("l1", _described(LOSSES), choices=tuple(LOSSES))
    rebalance: float = setting(
        0.5,
        "ce/blend: share of uniform mixed into the colour prior before inverting (1: no rebalancing).",
        low=0,
        high=1,
    )
    l1_weight: float = setting(10.0, "blend: weight of the L1 term beside the cross-entropy.", low=0)
    encoder_init: str = setting(
        "imagenet", "Encoder start: " + _described(ENCODER_INITS), choices=tuple(ENCODER_INITS)
    )
    init_from: str = setting(
        "", "Start from the parameters of this weights file (fine-tuning).", metavar="WEIGHTS"
    )
    simulate_hints: bool = setting(
        False, "Simulate colour hints from the ground truth (architectures that take hints).", flag="hints"
    )
    schedule: str = setting("constant", _described(SCHEDULES), choices=tuple(SCHEDULES))
    ema: float = setting(0.0, "EMA decay of the weights shipped (0: off).", low=0, high=1, open_high=True)
    limit: int = setting(0, "Use N images (seeded choice; 0: all).", low=0)
    val: list[str] = setting([], "Validation folder (L1 on ab logged each epoch); repeatable.")
    workers: int = setting(2, "Processes decoding the photos.", low=0, high=64)
    preload: str = setting("auto", "Decode the data set into memory once.", choices=PRELOADS)
    device: str | None = setting(None, "cpu, cuda, cuda:N or mps (default: cuda, then mps, then cpu).")
    threads: int = setting(
        0, "CPU threads (0: all). With 1, CPU runs are bit-for-bit reproducible, resumed ones too.", low=0
    )
    precision: str = setting(
        "auto",
        "bf16: autocast where the hardware has bf16 (AVX512-BF16, AMX, CUDA); auto: time both for a few "
        "steps and keep the faster.",
        choices=PRECISIONS,
    )
    random_seed: int = setting(0, "Seed of every random choice (data order, crops, hints).", flag="seed")
    time_limit_min: float = setting(
        0.0, "Stop after this many minutes (0: none) and write the weights.", flag="time-limit", low=0
    )
    data_license: str = setting("", "License of the training data, for the manifest.")
    resume: bool = setting(False, "Continue from OUT/checkpoint.pt.")

    def __post_init__(self) -> None:
        for item in fields(self):
            _check(item.name, getattr(self, item.name), item.metadata)


def _check(name: str, value: Any, meta: Any) -> None:
    """Refuse a value outside a field's choices or bounds (SettingError naming the field)."""
    if meta["choices"] is not None and value not in meta["choices"]:
        known = ", ".join(meta["choices"])
        template = "{" + name + "} must be one of {known}, got {value!r}"
        raise SettingError(template, [name], known=known, value=value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    low, high = meta["low"], meta["high"]
    too_low = low is not None and (value <= low if meta["open_low"] else value < low)
    too_high = high is not None and (value >= high if meta["open_high"] else value > high)
    if too_low or too_high or not math.isfinite(value):
        raise SettingError("{" + name + "} is out of range: {value}", [name], value=value)
