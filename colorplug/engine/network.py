"""A network ready to run: the architecture its weights file names, built, loaded (eval mode, float32),
with the NetworkConfig that says what it can do."""

from __future__ import annotations

import os
from dataclasses import dataclass

from torch import nn

from colorplug.nets.registry import NetworkConfig, create_model
from colorplug.nets.weights import WeightsError, mismatch, resolve_weights
from colorplug.nets.weights_checks import dtype_problem


@dataclass(frozen=True)
class Network:
    """A loaded network: the module, what it is, its weights' name and the size it was trained at."""

    module: nn.Module
    config: NetworkConfig
    name: str
    render_size: int | None = None


def load_network(weights: str | os.PathLike | None = None) -> Network:
    """Build the architecture a weights file (a shipped name, a path, None for the default) names and
    load its parameters; WeightsError when they do not fit."""
    loaded = resolve_weights(weights)
    config = loaded.network
    try:
        module = create_model(config.arch, config.width)
    except ValueError as exc:
        raise WeightsError(f"weights {loaded.name!r}: {exc}") from None
    problem = dtype_problem(module.state_dict(), loaded.state_dict)
    if problem is not None:
        raise WeightsError(f"weights {loaded.name!r} are not usable: {problem}")
    try:
        module.load_state_dict(loaded.float_state_dict())
    except RuntimeError as exc:
        raise WeightsError(
            f"weights {loaded.name!r} do not fit architecture {config.arch} x{config.width:g}: "
            f"{mismatch(exc)}"
        ) from None
    return Network(module.eval(), config, loaded.name, loaded.render_size)
