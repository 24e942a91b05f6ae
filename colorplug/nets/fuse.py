"""Preparing a trained network for inference: BatchNorm folded into the convolution before it."""

from __future__ import annotations

import copy

import torch
from torch import nn


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """A copy of an eval-mode model with every BatchNorm folded into the conv before it.

    Same outputs (to float rounding), one memory pass less per layer; with channels_last the default
    network went from 46 to 32 ms at 256x256 on a 2-core CPU (measured once, noisy machine).
    """
    fused = copy.deepcopy(model).eval()
    for module in fused.modules():
        if isinstance(module, nn.Sequential) and len(module) >= 2:
            conv, norm = module[0], module[1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module[0] = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, norm)
                module[1] = nn.Identity()
    return fused
