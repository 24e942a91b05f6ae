"""Colour from a reference photo: what the reference offers, matched to a target by the network's own
features, as a colour prior on the logits and as hints to follow.

Both photos are described at stride 8 by the encoder's features (the taps at strides 8 and 16, the
second upsampled, concatenated and L2-normalised per position), computed on their gray L alone. For
every target position:
- the prior: attention over the reference positions (softmax of cosine similarity / PRIOR_TEMPERATURE)
  mixes the reference's ab distributions there; its log, times PRIOR_WEIGHT, is added to the logits
  where the best similarity reaches PRIOR_GATE (a reference that matches nothing changes nothing);
- the hints: mutual nearest neighbours whose similarity reaches MATCH_THRESHOLD and whose lightness
  differs by at most MATCH_TONE become 2x2 hints carrying the reference's ab at the matched cell, never
  near the user's own hints (the user wins), followed after the network like the user's (hints/follow.py).
The constants were chosen on general's validation split (40 photos per mode of `eval --reference`, see
the README, "A reference photo"): PRIOR_WEIGHT 0.3 over 1.0 and 0, MIN_MATCH_SHARE added (unrelated
references lost 1.2 dB without it); hints carrying the reference's own ab rather than pulled part of the
way by the similarity (80 val photos: series 2.01 -> 0.97 against 1.08, self +4.52 dB against +3.60).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colorplug.color.chroma import soft_encode
from colorplug.errors import ColorplugError
from colorplug.nets.blocks import pad_to_multiple

STRIDE = 8  # features, lightness and colour are compared per STRIDE x STRIDE cell of the render
PRIOR_TEMPERATURE = 0.1  # attention temperature on cosine similarity
PRIOR_WEIGHT = 0.3  # the log-prior's weight on the logits
PRIOR_GATE = 0.3  # no prior where the best similarity is below this
PRIOR_FLOOR = 0.01  # probability floor before the log: bins the reference lacks are not ruled out
MATCH_THRESHOLD = 0.7  # a mutual match becomes a hint from this cosine similarity
MATCH_TONE = 12.0  # ... and at most this L difference between the matched cells
MIN_MATCH_SHARE = 0.02  # a photo with fewer of its cells matched than this share takes nothing
HINT_PATCH = 2  # side, in render pixels, of each reference hint
USER_REACH = 0.1  # no reference hint within this share of the short side of a user's hint


class ReferencePhotoError(ColorplugError):
    """A reference photo that cannot be used (unreadable, gray, tiny) or weights that cannot use one."""


@dataclass(frozen=True)
class Reference:
    """What a reference photo offers per cell: unit features (C, h, w), mean L (h, w) in [0, 100], mean
    ab / 128 (2, h, w) and the distribution over the ab bins (Q, h, w), None without bins."""

    features: torch.Tensor
    lightness: torch.Tensor
    ab: torch.Tensor
    distribution: torch.Tensor | None


def check_network(network: nn.Module, name: str) -> None:
    """ReferencePhotoError unless the network has a Lite0 encoder to match with (general's lite0-unet)."""
    if not all(hasattr(network, attr) for attr in ("encoder", "input_mean", "input_std")):
        raise ReferencePhotoError(
            f"weights {name!r} cannot take a reference photo (the default, general, can)"
        )


def cell_means(image: torch.Tensor) -> torch.Tensor:
    """Means (N, C, ceil(H/8), ceil(W/8)) of (N, C, H, W) over STRIDE cells (edges replicated).

    >>> cell_means(torch.ones(1, 2, 20, 17)).shape
    torch.Size([1, 2, 3, 3])
    """
    height, width = image.shape[-2:]
    padded = F.pad(image, (0, -width % STRIDE, 0, -height % STRIDE), mode="replicate")
    return F.avg_pool2d(padded, STRIDE)


def tap_features(taps: list[torch.Tensor], shape: tuple[int, int]) -> torch.Tensor:
    """Unit features (N, C, h, w) from the encoder's maps at strides 2..32, cropped to `shape`'s cells."""
    f8, f16 = taps[2].float(), taps[3].float()
    joined = torch.cat((f8, F.interpolate(f16, size=f8.shape[-2:], mode="bilinear", align_corners=False)), 1)
    cells = (-(-shape[0] // STRIDE), -(-shape[1] // STRIDE))
    return F.normalize(joined[..., : cells[0], : cells[1]], dim=1)


def encoder_input(network: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The encoder's input for L (N, 1, H, W) in [-1, 1] without hints, padded as the network pads."""
    padded = pad_to_multiple(x)
    gray = ((padded + 1) / 2 - network.input_mean) / network.input_std
    return torch.cat((gray, padded.new_zeros(padded.shape[0], 3, *padded.shape[-2:])), dim=1)


def encoder_features(network: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Unit features (N, C, h, w) of L (N, 1, H, W) in [-1, 1], seen without hints."""
    return tap_features(network.encoder(encoder_input(network, x)), tuple(x.shape[-2:]))


def distribution_of(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """The distribution (Q, h, w) over the bins of ab (2, H, W) in LAB units, per STRIDE cell.

    >>> from colorplug.color.chroma import ab_bins
    >>> total = distribution_of(torch.zeros(2, 16, 16), ab_bins()).sum(dim=0)
    >>> total.shape, bool(torch.allclose(total, torch.ones(2, 2)))
    (torch.Size([2, 2]), True)
    """
    weights, index = soft_encode(ab[None].float(), bins.float())
    dense = torch.zeros(1, bins.shape[0], *ab.shape[-2:], dtype=weights.dtype)
    dense.scatter_add_(1, index, weights)
    return cell_means(dense)[0]


def similarity(target: torch.Tensor, reference: Reference) -> torch.Tensor:
    """Cosine similarity (T, R) of a target's unit features (C, h, w) to the reference's."""
    return target.flatten(1).T @ reference.features.flatten(1).to(target)


def colour_prior(
    sim: torch.Tensor, reference: Reference, cells: tuple[int, int], shape: tuple[int, int]
) -> torch.Tensor:
    """The log-prior (Q, *shape) to add to the logits for a target of `cells` (h, w) cells: the
    attention-weighted reference distributions, zero where the best similarity is below PRIOR_GATE,
    interpolated from the cells to `shape`."""
    distributions = reference.distribution.flatten(1).to(sim)  # (Q, R)
    attention = torch.softmax(sim / PRIOR_TEMPERATURE, dim=1)  # (T, R)
    mixed = (distributions @ attention.T).view(1, -1, *cells)
    gate = (sim.max(dim=1).values >= PRIOR_GATE).to(sim).view(1, 1, *cells)
    mixed = F.interpolate(mixed, size=shape, mode="bilinear", align_corners=False)
    gate = F.interpolate(gate, size=shape, mode="nearest")
    return (PRIOR_WEIGHT * gate * torch.log(mixed + PRIOR_FLOOR))[0]


def matches(sim: torch.Tensor, target_lightness: torch.Tensor, reference: Reference) -> torch.Tensor:
    """(K, 2) kept matches as rows (target cell, reference cell): mutual nearest neighbours at least
    MATCH_THRESHOLD alike whose mean L differ by at most MATCH_TONE."""
    best_reference = sim.argmax(dim=1)
    best_target = sim.argmax(dim=0)
    cells = torch.arange(sim.shape[0], device=sim.device)
    score = sim[cells, best_reference]
    tone = (target_lightness.flatten() - reference.lightness.flatten().to(sim)[best_reference]).abs()
    keep = (best_target[best_reference] == cells) & (score >= MATCH_THRESHOLD) & (tone <= MATCH_TONE)
    return torch.stack((cells[keep], best_reference[keep]), dim=1)


def free_cells(user_hints: torch.Tensor | None, cells: tuple[int, int]) -> torch.Tensor:
    """(h, w) True where no user hint (a hint map (3, H, W)) lies within USER_REACH of the cell."""
    if user_hints is None:
        return torch.ones(cells, dtype=torch.bool)
    height, width = user_hints.shape[-2:]
    taken = F.pad(user_hints[None, 2:], (0, -width % STRIDE, 0, -height % STRIDE))
    taken = F.max_pool2d(taken, STRIDE)
    reach = max(1, round(USER_REACH * min(height, width) / STRIDE))
    taken = F.max_pool2d(taken, 2 * reach + 1, stride=1, padding=reach)
    return (taken[0, 0] <= 0).cpu()


def match_hints(
    ab: torch.Tensor, found: torch.Tensor, reference: Reference, free: torch.Tensor
) -> torch.Tensor:
    """A hint map (3, H, W) of the matches `found` (see matches) for a target of the predicted ab / 128
    `ab` (2, H, W): at each matched cell's centre a HINT_PATCH patch of the reference's ab there (the
    network's own colour there is replaced, not blended); none in cells that are not `free`."""
    height, width = ab.shape[-2:]
    hints = ab.new_zeros(3, height, width)
    target, source = found[:, 0], found[:, 1]
    rows, cols = target // free.shape[1], target % free.shape[1]
    keep = free.to(ab.device)[rows, cols]
    rows, cols, source = rows[keep], cols[keep], source[keep]
    wanted = reference.ab.flatten(1).to(ab)[:, source]  # (2, K)
    first = STRIDE // 2 - HINT_PATCH // 2
    for dy in range(HINT_PATCH):
        for dx in range(HINT_PATCH):
            y = (rows * STRIDE + first + dy).clamp(max=height - 1)
            x = (cols * STRIDE + first + dx).clamp(max=width - 1)
            hints[:2, y, x] = wanted
            hints[2, y, x] = 1.0
    return hints
