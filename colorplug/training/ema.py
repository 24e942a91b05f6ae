"""Exponential moving average of a network's parameters and buffers: the weights shipped when enabled."""

from __future__ import annotations

import torch


class EMA:
    """Exponential moving average of parameters and buffers (the weights shipped when enabled)."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average towards the model's current values (buffers that are not floats: copied)."""
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                self.state[key].lerp_(value, 1 - self.decay)
            else:
                self.state[key].copy_(value)
