"""The checkpoint written after each epoch (atomically) and read by `resume`: network, optimizer, EMA, the
loss's running prior, RNG states and the log position, so a resumed run continues exactly.

Its keys: model, optimizer, ema, loss_prior, epoch, step, precision, config (JSON), rng, cuda_rng.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from colorplug.errors import SettingError
from colorplug.io.files import atomic_path
from colorplug.nets.weights import mismatch
from colorplug.training.config import TrainConfig
from colorplug.training.ema import EMA
from colorplug.training.objective import ChromaLoss

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(
    path: Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: EMA | None,
    loss: ChromaLoss,
    epoch: int,
    step: int,
    precision: str,
    config: TrainConfig,
) -> None:
    """Write the checkpoint of a run after `epoch` epochs (`model` unwrapped from DDP)."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "ema": ema.state if ema is not None else None,
        "loss_prior": loss.prior,
        "epoch": epoch,
        "step": step,
        "precision": precision,
        "config": json.dumps(asdict(config)),
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    with atomic_path(path) as temp:
        torch.save(state, temp)


def checkpoint_field(path: Path, key: str) -> Any:
    """One field of a checkpoint (None when absent or unreadable: load_checkpoint then says why)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True).get(key)
    except Exception:  # damaged: reported by load_checkpoint with the other checks
        return None


def load_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: EMA | None,
    loss: ChromaLoss,
    device: torch.device,
) -> tuple[int, int]:
    """Restore a checkpoint written by save_checkpoint and return its (epoch, step); one clear line
    (a SettingError about `resume`) if it is damaged or another run's."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        epoch, step = int(state["epoch"]), int(state["step"])
    except Exception:  # damaged bytes (torch's own message would advise unsafe loading: not shown)
        raise SettingError(
            "{resume}: checkpoint {path} is damaged (cannot be read)", ["resume"], path=path
        ) from None
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
        raise SettingError(
            "{resume}: checkpoint {path} does not fit this setup (other {arch} or {width}?): {why}",
            ["resume", "arch", "width"],
            path=path,
            why=mismatch(exc),
        ) from None
    return epoch, step
