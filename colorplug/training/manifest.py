"""The manifest entry of a trained weights file: how it was made (recipe, data and its license, command,
hardware, wall time, precision), written beside it for `colorplug weights add`."""

from __future__ import annotations

import math
import os
import platform
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from colorplug.nets.registry import count_parameters
from colorplug.training.config import TrainConfig
from colorplug.training.losses import LOSSES

_NOT_RECIPE = ("out", "name", "resume", "device", "data_license", "workers")  # where, not how


def hardware(device: torch.device) -> str:
    """The device trained on, in words (GPU name, or CPU and threads), with the torch version."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def manifest_entry(
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
    """The entry: what `colorplug weights add` records in the manifest, evaluation figures aside."""
    recipe = {key: value for key, value in asdict(config).items() if key not in _NOT_RECIPE}
    return {
        "file": weights.name,
        "sha256": sha,
        "arch": config.arch,
        "width": config.width,
        "render_size": config.image_size,
        "parameters": count_parameters(model),
        "heads": list(LOSSES[config.loss].heads),
        "data": {"folders": config.data, "images": images, "license": config.data_license},
        "recipe": {**recipe, "epochs_done": epochs_done, "steps": steps, "ranks": ranks},
        "final_train_loss": round(loss, 6) if math.isfinite(loss) else None,
        "command": shlex.join(["colorplug", *sys.argv[1:]]),
        "wall_time_s": round(wall, 1),
        "hardware": hardware(device) + (f" x {ranks} ranks" if ranks > 1 else ""),
        "precision": precision,
        "host_cpus": os.cpu_count(),
    }
