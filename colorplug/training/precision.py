"""Training precision: bf16 autocast where the hardware has bf16 arithmetic and it is measured faster.

On CUDA, bf16 autocast of the whole network. On a CPU, bf16 only pays where the CPU multiplies bf16 in
hardware (AVX512-BF16 or AMX: `cpu_has_bf16`), and only for dense convolutions: on a 2-core Xeon with AMX,
oneDNN ran a dense 3x3 convolution's forward + backward 2.5x faster in bf16, but depthwise and 1x1
convolutions slower than in fp32 (their bf16 backward is not vectorised as well), so `mixed_bf16` keeps
those in fp32. On CPUs without bf16 instructions bf16 was 5-10x slower: never assumed, `auto` measures.
"""

from __future__ import annotations

import copy
import time
import types
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

PRECISIONS = ("auto", "fp32", "bf16")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU lists bf16 arithmetic (AVX512-BF16 or AMX-BF16) among its flags (Linux; False
    where the flags cannot be read, e.g. macOS, whose Apple CPUs autocast runs slowly anyway)."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    flags = {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split()}
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def candidates(device: torch.device) -> list[str]:
    """The precisions worth trying on a device: fp32 always, bf16 where the hardware has it."""
    if device.type == "cuda":
        return ["bf16", "fp32"] if torch.cuda.is_bf16_supported() else ["fp32"]
    if device.type == "cpu" and cpu_has_bf16():
        return ["fp32", "bf16"]
    return ["fp32"]


def _fp32_forward(self: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    with torch.autocast(x.device.type, enabled=False):
        return type(self).forward(self, x.float())


def mixed_bf16(model: nn.Module) -> int:
    """Make depthwise and 1x1 convolutions of `model` run in fp32 inside a CPU bf16 autocast (see the
    module docstring); returns how many were changed. Parameters and state_dict stay as they were."""
    changed = 0
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and (module.groups > 1 or module.kernel_size == (1, 1)):
            module.forward = types.MethodType(_fp32_forward, module)
            changed += 1
    return changed


def prepare(model: nn.Module, precision: str, device: torch.device) -> nn.Module:
    """The model in the memory layout and per-layer precision that `precision` trains it with."""
    model = model.to(memory_format=torch.channels_last)  # 1.3-1.4x on the CPU, also faster on GPUs
    if precision == "bf16" and device.type == "cpu":
        mixed_bf16(model)
    return model


def autocast(precision: str, device: torch.device) -> torch.autocast:
    """The autocast context of one forward pass."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def seconds_per_step(
    model: nn.Module, precision: str, device: torch.device, step: Callable[[nn.Module, str], None], steps: int
) -> float:
    """Median wall time of `steps` training steps (after one warm-up) of a copy of `model` at `precision`;
    the model itself is not touched."""
    trial = prepare(copy.deepcopy(model), precision, device)
    step(trial, precision)
    times = []
    for _ in range(steps):
        began = time.perf_counter()
        step(trial, precision)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - began)
    return sorted(times)[len(times) // 2]


def choose(
    requested: str,
    model: nn.Module,
    device: torch.device,
    step: Callable[[nn.Module, str], None],
    steps: int = 3,
) -> tuple[str, dict[str, float]]:
    """The precision to train with: the requested one, or for `auto` the faster of the candidates as
    measured on this machine (their seconds per step are returned beside it, for the log)."""
    if requested != "auto":
        return requested, {}
    options = candidates(device)
    if len(options) == 1:
        return options[0], {}
    timings = {option: seconds_per_step(model, option, device, step, steps) for option in options}
    return min(timings, key=timings.get), timings
