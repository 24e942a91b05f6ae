"""Training data: folders of colour photos as (L, ab) batches with random crops and flips.

Workers only decode and resize (deterministic work); the random crop, the flip and the LAB conversion
happen on whole batches on the training device, driven by a seeded generator, so runs are reproducible
and a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, DistributedSampler

from colorplug.color.lab import normalize_ab, normalize_lightness, rgb_to_lab
from colorplug.errors import ColorplugError, one_line
from colorplug.io.files import display_path
from colorplug.jobs.inputs import find_images

PRELOAD_LIMIT_BYTES = 6 << 30  # decode the data set into memory when it takes less than this
CROP_MARGIN = 1.125  # images are stored 12.5% larger than the crop, leaving room for random crops
MIN_CHROMA = 2.0  # images whose mean |ab| (LAB units) is below this are skipped as near-gray


def list_training_images(folders: list[str | Path]) -> list[Path]:
    """All image files under the given folders (sorted, so every run sees the same order).

    A folder that does not exist is an error (FileNotFoundError); a file or subfolder that cannot be used
    (a named pipe, an unreadable folder) is named on stderr and left out.
    """
    arguments = [str(folder) for folder in folders]
    found, problems = find_images(arguments)
    missing = [f"{what}: {why}" for what, why in problems if what in arguments]
    if missing:
        raise FileNotFoundError("; ".join(missing))
    for what, why in problems:
        print(f"colorplug: skipping {display_path(what)}: {why}", file=sys.stderr)
    return [item.path for item in found]


def load_square(path: Path, side: int) -> torch.Tensor:
    """An image as uint8 RGB (3, side, side): short side resized to `side`, centre-cropped square."""
    with Image.open(path) as image:
        image.draft("RGB", (side, side))  # lets JPEG decode at a reduced scale when it can
        image = image.convert("RGB")
        scale = side / min(image.size)
        size = (max(side, round(image.width * scale)), max(side, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
        left, top = (size[0] - side) // 2, (size[1] - side) // 2
        image = image.crop((left, top, left + side, top + side))
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


class ColorImages(torch.utils.data.Dataset):
    """Colour photos as uint8 tensors (3, S', S') with S' = crop size x CROP_MARGIN."""

    def __init__(self, paths: list[Path], crop_size: int) -> None:
        if not paths:
            raise ValueError("no training images found")
        self.paths = paths
        self.crop_size = crop_size
        self.stored_size = round(crop_size * CROP_MARGIN)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        """The image, or black (which training skips as near-gray) with one line on stderr naming the
        file when it cannot be decoded: one bad photo among thousands must not stop a long run."""
        try:
            return load_square(self.paths[index], self.stored_size)
        except Exception as exc:  # any decoder failure: the file is named, training goes on
            name = display_path(self.paths[index])
            print(f"colorplug: skipping unreadable training image {name}: {one_line(exc)}", file=sys.stderr)
            return torch.zeros(3, self.stored_size, self.stored_size, dtype=torch.uint8)


class CachedImages(torch.utils.data.Dataset):
    """A dataset decoded once into one uint8 tensor, so later epochs cost no decoding."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]

    @classmethod
    def decode(cls, dataset: ColorImages, workers: int) -> CachedImages:
        """Decode every image of `dataset` (in parallel workers) into memory."""
        loader = torch.utils.data.DataLoader(dataset, batch_size=64, num_workers=workers)
        return cls(torch.cat(list(loader)))


def random_crops(count: int, stored: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """(count, 3) int64 rows of (top, left, flip) for random crops of `size` from `stored`-sized images."""
    top = torch.randint(0, stored - size + 1, (count,), generator=generator)
    left = torch.randint(0, stored - size + 1, (count,), generator=generator)
    flip = (torch.rand(count, generator=generator) < 0.5).long()
    return torch.stack((top, left, flip), dim=1)


def crop_flip(batch: torch.Tensor, size: int, crops: torch.Tensor) -> torch.Tensor:
    """Apply per-image crops from `random_crops` to a (N, C, S, S) batch (one gather, on its device)."""
    steps = torch.arange(size)
    rows = crops[:, :1] + steps
    columns = crops[:, 1:2] + steps
    columns = torch.where(crops[:, 2:3].bool(), columns.flip(1), columns)
    index = torch.arange(batch.shape[0])[:, None, None]
    device = batch.device
    picked = batch.permute(0, 2, 3, 1)[
        index.to(device), rows[:, :, None].to(device), columns[:, None, :].to(device)
    ]
    return picked.permute(0, 3, 1, 2)


def to_lab_batch(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """uint8 RGB (N, 3, H, W) -> network input L (N, 1, H, W), target ab (N, 2, H, W), colourful mask (N,)."""
    lab = rgb_to_lab(rgb.float() / 255.0)
    lightness, ab = lab[:, :1], lab[:, 1:]
    colourful = ab.abs().mean(dim=(1, 2, 3)) >= MIN_CHROMA
    return normalize_lightness(lightness), normalize_ab(ab), colourful


def select_paths(folders: list[str], limit: int, seed: int) -> list[Path]:
    """The training files: all of them, or `limit` of them picked by a seeded shuffle."""
    try:
        paths = list_training_images(folders)
    except FileNotFoundError as exc:
        raise ColorplugError(str(exc)) from None
    if not paths:
        raise ColorplugError(f"no images found in {', '.join(folders)}")
    if 0 < limit < len(paths):
        order = torch.randperm(len(paths), generator=torch.Generator().manual_seed(seed))
        paths = sorted(paths[i] for i in order[:limit].tolist())
    return paths


def dataset_for(paths: list[Path], crop_size: int, preload: str, workers: int) -> torch.utils.data.Dataset:
    """The training set: decoded into memory once (`preload` yes, or auto when it is small), else read
    by the loader's workers."""
    dataset = ColorImages(paths, crop_size)
    size = len(dataset) * 3 * dataset.stored_size**2
    if preload == "yes" or (preload == "auto" and size < PRELOAD_LIMIT_BYTES):
        return CachedImages.decode(dataset, workers)
    return dataset


class _CachedBatches:
    """Batches gathered straight from a decoded data set held on the training device."""

    def __init__(self, images: torch.Tensor, sampler: DistributedSampler, batch_size: int) -> None:
        self.images, self.sampler, self.batch_size = images, sampler, batch_size

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size

    def __iter__(self):
        order = torch.tensor(list(self.sampler))
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.images[order[start : start + self.batch_size].to(self.images.device)]


def batches(
    dataset: torch.utils.data.Dataset,
    sampler: DistributedSampler,
    batch_size: int,
    workers: int,
    device: torch.device,
):
    """Iterable of uint8 batches: from memory when the set was decoded up front, else from workers."""
    if isinstance(dataset, CachedImages):
        return _CachedBatches(dataset.images.to(device), sampler, batch_size)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )
