"""Network throughput at 256x256: inference and training images/s, plain fp32 against channels_last +
bf16 autocast (the GPU fast path), for the registered architectures.

Usage: python benchmarks/network_throughput.py [--device cuda] [--seconds 2]
On the CPU only fp32 is timed (bf16 is 5-10x slower on CPUs without bf16 units: ../shared/notes/speed.md).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from colorplug.device import pick_device
from colorplug.nets.registry import count_parameters, create_model


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(step, batch: int, device: torch.device, seconds: float) -> float:
    """Run `step` repeatedly for about `seconds` after warm-up; return images per second."""
    for _ in range(3):
        step()
    _sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    _sync(device)
    return count * batch / (time.perf_counter() - start)


def measure(arch: str, width: float, device: torch.device, fast: bool, batch: int, seconds: float):
    model = create_model(arch, width).to(device)
    x = torch.randn(batch, 1, 256, 256, device=device)
    target = torch.rand(batch, 2, 256, 256, device=device) * 2 - 1
    if fast:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast)
    model.eval()

    def infer() -> None:
        with torch.inference_mode(), autocast:
            model(x)

    inference = images_per_second(infer, batch, device, seconds)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def train_step() -> None:
        with autocast:
            prediction = model(x)
        loss = F.l1_loss(prediction.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    training = images_per_second(train_step, batch, device, seconds)
    return count_parameters(model), inference, training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=0, help="default: 64 on GPU, 4 on CPU")
    args = parser.parse_args()
    device = pick_device(args.device)
    batch = args.batch or (64 if device.type == "cuda" else 4)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(f"device: {name}; torch {torch.__version__}; batch {batch}; 256x256")
    print(f"{'model':14}{'mode':26}{'params M':>9}{'infer img/s':>13}{'train img/s':>13}")
    modes = [False, True] if device.type == "cuda" else [False]
    for arch, width in (("seed", 0.5), ("unet", 0.5), ("seed", 1.0)):
        for fast in modes:
            params, inference, training = measure(arch, width, device, fast, batch, args.seconds)
            label = "channels_last + bf16" if fast else "fp32"
            name = f"{arch} x{width:g}"
            print(f"{name:14}{label:26}{params / 1e6:9.2f}{inference:13.1f}{training:13.1f}", flush=True)


if __name__ == "__main__":
    main()
