"""torchrun support: one process per device, gradients averaged across ranks, rank 0 writes files.

Without torchrun's environment (RANK and WORLD_SIZE unset) everything here is a no-op single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from colorplug.device import pick_device


@dataclass(frozen=True)
class World:
    """This process's place in the group (rank 0 of 1 when not distributed)."""

    rank: int
    size: int
    device: torch.device
    distributed: bool = False  # launched by torchrun (a process group exists, even of size 1)

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def join(requested_device: str | None) -> World:
    """Join the torchrun group if there is one (nccl on CUDA, gloo otherwise) and pick this rank's device."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return World(0, 1, pick_device(requested_device))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(requested_device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None)
    return World(dist.get_rank(), dist.get_world_size(), device, distributed=True)


def leave(world: World) -> None:
    """Tear the process group down (after a final barrier so no rank exits early)."""
    if world.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier(world: World) -> None:
    """Wait for every rank (no-op alone)."""
    if world.distributed:
        dist.barrier()


def mean_across(world: World, value: float) -> float:
    """The mean of a scalar over all ranks."""
    if not world.distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=world.device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / world.size


def from_main(world: World, value: str) -> str:
    """Rank 0's `value` on every rank (a choice all ranks must share, such as the training precision)."""
    if not world.distributed:
        return value
    shared = [value]
    dist.broadcast_object_list(shared, src=0)
    return shared[0]
