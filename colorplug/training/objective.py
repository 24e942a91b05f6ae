"""Computing a training loss (see losses.py) on a network's Chroma against the target ab / 128, and the
class-rebalancing weights of the cross-entropy, from the training photos' colours."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from colorplug.color.chroma import bin_histogram, classification_loss, rebalancing_weights
from colorplug.color.lab import denormalize_ab
from colorplug.nets.blocks import Chroma
from colorplug.training.data import to_lab_batch
from colorplug.training.losses import Loss

HISTOGRAM_IMAGES = 2000  # images whose colours make the rebalancing prior

Term = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class RebalancedL1:
    """L1 weighted by the rarity of each target pixel's ab bin, against the washed-out "sepia" average.

    Zhang et al. (2016) rebalance their colour classes by a smoothed inverse prior; this carries the
    idea to regression: the prior over a 16x16 grid of ab is a running histogram of the targets,
    weights are 1 / ((1 - mix) * prior + mix / bins), normalised to 1 on average.
    """

    def __init__(self, device: torch.device, bins: int = 16, mix: float = 0.5, momentum: float = 0.99):
        self.bins, self.mix, self.momentum = bins, mix, momentum
        self.prior = torch.full((bins * bins,), 1.0 / bins**2, device=device)

    def __call__(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        cells = ((target.clamp(-1, 1 - 1e-6) + 1) * (self.bins / 2)).long()  # (N, 2, H, W)
        index = cells[:, 0] * self.bins + cells[:, 1]
        with torch.no_grad():
            counts = torch.bincount(index.flatten(), minlength=self.bins**2).float()
            self.prior.mul_(self.momentum).add_(counts / counts.sum(), alpha=1 - self.momentum)
            weights = 1.0 / ((1 - self.mix) * self.prior + self.mix / self.bins**2)
            weights /= (self.prior * weights).sum()
        return (weights[index][:, None] * (prediction - target).abs()).mean()


def _huber(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.smooth_l1_loss(prediction, target, beta=0.05)


# The regression terms by name, each made for the training device.
REGRESSION_TERMS: dict[str, Callable[[torch.device], Term]] = {
    "l1": lambda device: F.l1_loss,
    "l2": lambda device: F.mse_loss,
    "huber": lambda device: _huber,
    "rebalanced": RebalancedL1,
}


class ChromaLoss:
    """The training loss of a Chroma prediction against target ab / 128 (N, 2, H, W).

    The regression term compares the ab head; the cross-entropy compares the bin logits with the target
    averaged over 4x4 cells (the logits' resolution), rebalanced by `class_weights`; with both, the
    regression term is weighted by `l1_weight`.
    """

    def __init__(
        self, loss: Loss, l1_weight: float, device: torch.device, class_weights: torch.Tensor | None
    ) -> None:
        self.classification = loss.classification
        self.l1_weight = l1_weight
        self.class_weights = class_weights
        self.regression = None if loss.regression is None else REGRESSION_TERMS[loss.regression](device)

    @property
    def prior(self) -> torch.Tensor | None:
        """The running colour prior of a rebalanced regression term (kept in checkpoints), else None."""
        return self.regression.prior if isinstance(self.regression, RebalancedL1) else None

    @prior.setter
    def prior(self, value: torch.Tensor) -> None:
        self.regression.prior = value

    def __call__(self, prediction: Chroma, target: torch.Tensor, bins: torch.Tensor | None) -> torch.Tensor:
        loss = self.regression(prediction.ab.float(), target) if self.regression else 0.0
        if self.classification:
            small = denormalize_ab(F.avg_pool2d(target, 4, ceil_mode=True))
            ce = classification_loss(prediction.logits.float(), small, bins, self.class_weights)
            loss = ce + self.l1_weight * loss if self.regression else ce
        return loss


def class_weights_for(dataset: torch.utils.data.Dataset, bins: torch.Tensor, mix: float) -> torch.Tensor:
    """Rebalancing weights from the colours of up to HISTOGRAM_IMAGES training images, taken evenly
    through the set, at the 4x4-cell resolution the classification head works at."""
    picked = torch.linspace(0, len(dataset) - 1, min(HISTOGRAM_IMAGES, len(dataset))).long()
    counts = torch.zeros(bins.shape[0], dtype=torch.float64)
    for chunk in picked.split(64):
        _, ab, _ = to_lab_batch(torch.stack([dataset[int(i)] for i in chunk]).to(bins.device))
        counts += bin_histogram(denormalize_ab(F.avg_pool2d(ab, 4)), bins).cpu()
    return rebalancing_weights(counts, bins.cpu(), mix).to(bins.device)
