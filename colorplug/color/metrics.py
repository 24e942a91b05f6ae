"""Per-image colorization metrics on uint8 sRGB arrays (H, W, 3), as the field computes them.

MAE and MSE compare the ab channels scaled by 1/128 (the founding paper's convention); PSNR is on 8-bit
RGB with peak 255; SSIM and CIEDE2000 come from scikit-image; colourfulness is Hasler and Suesstrunk's.
"""

from __future__ import annotations

import numpy as np
import torch

from colorplug.color.lab import AB_SCALE, rgb_to_lab

METRICS = ("mae_ab", "mse_ab", "psnr", "ssim", "ciede2000", "colorfulness")


def lab_of(rgb: np.ndarray) -> np.ndarray:
    """CIE LAB (H, W, 3) float32 of uint8 sRGB (H, W, 3), skimage's definition."""
    tensor = torch.as_tensor(np.array(rgb, dtype=np.float32)).permute(2, 0, 1) / 255.0
    return rgb_to_lab(tensor).permute(1, 2, 0).numpy()


def psnr(prediction: np.ndarray, truth: np.ndarray) -> float:
    """PSNR in dB of two uint8 images with peak 255 (capped at 100 dB for identical images)."""
    mse = np.mean((prediction.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return 100.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk (2003) colourfulness of a uint8 RGB image."""
    red, green, blue = (rgb[..., i].astype(np.float64) for i in range(3))
    rg = red - green
    yb = 0.5 * (red + green) - blue
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def image_metrics(prediction: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """All per-image metrics of a prediction against its ground truth (both uint8 RGB, same size)."""
    from skimage.color import deltaE_ciede2000
    from skimage.metrics import structural_similarity

    lab_prediction, lab_truth = lab_of(prediction), lab_of(truth)
    ab_error = (lab_prediction[..., 1:] - lab_truth[..., 1:]) / AB_SCALE
    small = min(truth.shape[:2]) < 7
    ssim = (
        float("nan")
        if small
        else structural_similarity(prediction, truth, channel_axis=-1, data_range=255, win_size=7)
    )
    return {
        "mae_ab": float(np.abs(ab_error).mean()),
        "mse_ab": float((ab_error**2).mean()),
        "psnr": psnr(prediction, truth),
        "ssim": float(ssim),
        "ciede2000": float(deltaE_ciede2000(lab_truth, lab_prediction).mean()),
        "colorfulness": colorfulness(prediction),
    }
