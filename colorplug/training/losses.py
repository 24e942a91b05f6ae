"""The training losses by name, importable without torch (the command line offers them): what each
compares, and so which of a network's heads it trains. objective.py computes them."""

from __future__ import annotations

from dataclasses import dataclass

from colorplug.nets.registry import CLASSES, REGRESSION


@dataclass(frozen=True)
class Loss:
    """A loss: a term on the ab head (`regression`, a name in objective.REGRESSION_TERMS) and/or the
    rebalanced cross-entropy over ab bins (`classification`, for networks with that head); with both,
    the regression term is weighted by l1_weight."""

    summary: str
    regression: str | None = None
    classification: bool = False

    @property
    def heads(self) -> tuple[str, ...]:
        """The heads this loss trains: what the weights file then says can be decoded."""
        return (REGRESSION,) * (self.regression is not None) + (CLASSES,) * self.classification


LOSSES = {
    "l1": Loss("L1 on ab / 128, the paper's", "l1"),
    "l2": Loss("squared error on ab / 128", "l2"),
    "huber": Loss("Huber (smooth L1) on ab / 128", "huber"),
    "rebalanced": Loss("L1 weighted by the rarity of the target colour", "rebalanced"),
    "ce": Loss("rebalanced cross-entropy over ab bins (lite0-unet)", classification=True),
    "blend": Loss("ce + L1, which gives the vividness control", "l1", classification=True),
}
