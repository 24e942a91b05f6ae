"""Which torch device to run on: CUDA when present, then Apple's MPS, then the CPU, unless told."""

from __future__ import annotations

import torch

from colorplug.errors import ColorplugError


def pick_device(requested: str | None = None) -> torch.device:
    """A usable torch.device: `requested` ('cpu', 'cuda', 'cuda:1', 'mps') or the best one present."""
    if requested in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError):
        raise ColorplugError(f"unknown device {requested!r} (use cpu, cuda, cuda:N or mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ColorplugError(f"device {requested!r} requested but CUDA is not available here")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ColorplugError(f"device {requested!r} requested but only {torch.cuda.device_count()} GPU(s)")
    if device.type == "mps" and not (torch.backends.mps.is_available()):
        raise ColorplugError("device 'mps' requested but MPS is not available here")
    return device
