"""Following hints: the correction each hint asks for, carried over its region along the lightness.

The network sees the hints and follows them only as far as it learnt to. What the user asked for is then
made sure of: at every hint, the correction it asks for (hint ab minus the network's ab there) is carried
over the photo with a bilateral weight, near in space (a Gaussian of SPACE_SIGMA of the short side) and
near in lightness (a Gaussian of TONE_SIGMA L units), so it fills the hinted region and stops at its
edges, and fades where no hint is near. It is a bilateral grid (Chen et al. 2007): the corrections are
splatted into LEVELS lightness layers at a quarter of the render size, blurred, read back at each cell's
own lightness and upsampled (the network's colour itself is no sharper: its distribution is predicted
at that quarter size). Where hints agree with the network nothing changes; no hints, no change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from colorplug.color.bilateral import LEVELS, gaussian_blur, tone_weights

CELL = 4  # grid cells are CELL x CELL render pixels
SPACE_SIGMA = 0.2  # spatial reach, as a share of the render's short side (chosen on validation photos)
TONE_SIGMA = 6.0  # lightness reach, in L units (chosen on validation photos: tied with 12, stops at edges)


def follow_hints(
    ab: torch.Tensor,
    lightness: torch.Tensor,
    hints: torch.Tensor,
    space_sigma: float = SPACE_SIGMA,
    tone_sigma: float = TONE_SIGMA,
) -> torch.Tensor:
    """ab (N, 2, H, W) / 128 corrected towards hint maps (N, 3, H, W), guided by L (N, 1, H, W) in
    [-1, 1]; returns ab of the same shape. At a hint the result is the hint's ab; around it, the same
    correction weighted by closeness in space and lightness (at most 1, more hints do not add up)."""
    height, width = ab.shape[-2:]
    grid = (-(-height // CELL), -(-width // CELL))
    mask = hints[:, 2:]
    share = F.adaptive_avg_pool2d(mask, grid)
    given = share > 0
    within = share.clamp(min=1e-8)
    residual = (F.adaptive_avg_pool2d(hints[:, :2] * mask - ab * mask, grid) / within) * given
    hint_lightness = F.adaptive_avg_pool2d(lightness * mask, grid) / within
    splat = tone_weights(hint_lightness, tone_sigma) * given  # (N, K, h, w)
    stacked = torch.cat((residual[:, :, None] * splat[:, None], splat[:, None]), dim=1)  # (N, 3, K, h, w)
    blurred = gaussian_blur(stacked.flatten(1, 2), space_sigma * min(grid)).unflatten(1, (3, LEVELS))
    read = tone_weights(F.adaptive_avg_pool2d(lightness, grid), tone_sigma)  # (N, K, h, w)
    correction = (blurred[:, :2] * read[:, None]).sum(dim=2)
    weight = (blurred[:, 2] * read).sum(dim=1, keepdim=True)
    peak = (read * read).sum(dim=1, keepdim=True)  # the weight right at a lone hint of this lightness
    strength = (weight / peak).clamp(max=1.0)
    change = correction / weight.clamp(min=1e-6) * strength
    return ab + F.interpolate(change, size=(height, width), mode="bilinear", align_corners=False)
