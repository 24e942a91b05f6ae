"""sRGB (D65) <-> CIE LAB in torch, exactly as scikit-image defines them, plus the network's scaling.

All conversions take and return float tensors shaped (*, 3, H, W): any batch shape, any device.
RGB is in [0, 1]; L in [0, 100]; a and b roughly in [-128, 128].
"""

from __future__ import annotations

import torch

# sRGB primaries to CIE XYZ, as in skimage.color.colorconv.xyz_from_rgb.
XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
# D65, 2 degree observer: the reference white of skimage's rgb2lab / lab2rgb.
WHITE_D65 = (0.95047, 1.0, 1.08883)

LAB_EPSILON = 0.008856  # CIE threshold on t in f(t)
LAB_TOE_SLOPE = 7.787
LAB_F_OFFSET = 16.0 / 116.0
LAB_F_INVERSE_THRESHOLD = 0.2068966

# The network's convention, defined once: L in [0, 100] -> [-1, 1], ab / 128 -> about [-1, 1].
L_CENTER = 50.0
L_RANGE = 50.0
AB_SCALE = 128.0


def _check_channels(image: torch.Tensor, name: str) -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if image.dim() < 3 or image.shape[-3] != 3:
        raise ValueError(f"{name} must have shape (*, 3, H, W), got {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"{name} must be a floating point tensor, got {image.dtype}")


def _matrix(rows: tuple, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(rows, dtype=like.dtype, device=like.device)


# XYZ to sRGB primaries: the exact inverse of XYZ_FROM_RGB (skimage.color.colorconv.rgb_from_xyz).
RGB_FROM_XYZ = tuple(
    tuple(row) for row in torch.linalg.inv(torch.tensor(XYZ_FROM_RGB, dtype=torch.float64)).tolist()
)


def _apply_matrix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Multiply every pixel's 3-vector of a (*, 3, H, W) tensor by a 3x3 matrix."""
    return torch.einsum("ij,...jhw->...ihw", matrix, image)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """Undo the sRGB transfer curve (values in [0, 1]).

    >>> srgb_to_linear(torch.tensor([0.0, 0.5, 1.0])).round(decimals=3)
    tensor([0.0000, 0.2140, 1.0000])
    """
    return torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    """Apply the sRGB transfer curve; negative input (out of gamut) maps to 0.

    >>> linear_to_srgb(torch.tensor([-0.1, 0.214, 1.0])).round(decimals=3)
    tensor([0.0000, 0.5000, 1.0000])
    """
    safe = linear.clamp(min=0.0)
    return torch.where(safe > 0.0031308, 1.055 * safe ** (1 / 2.4) - 0.055, safe * 12.92)


def lab_f(t: torch.Tensor) -> torch.Tensor:
    """CIE LAB's companding function f(t) (cube root with a linear toe).

    >>> lab_f(torch.tensor([0.0, 0.125, 1.0])).round(decimals=4)
    tensor([0.1379, 0.5000, 1.0000])
    """
    return torch.where(t > LAB_EPSILON, t.clamp(min=LAB_EPSILON) ** (1 / 3), LAB_TOE_SLOPE * t + LAB_F_OFFSET)


def lab_f_inverse(f: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`lab_f`.

    >>> lab_f_inverse(torch.tensor([0.5, 1.0]))
    tensor([0.1250, 1.0000])
    """
    return torch.where(f > LAB_F_INVERSE_THRESHOLD, f**3, (f - LAB_F_OFFSET) / LAB_TOE_SLOPE)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], shape (*, 3, H, W) -> CIE LAB (D65), same shape; matches skimage.color.rgb2lab.

    >>> rgb_to_lab(torch.rand(2, 3, 4, 5)).shape
    torch.Size([2, 3, 4, 5])
    >>> red = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)
    >>> rgb_to_lab(red).flatten().round(decimals=1)
    tensor([53.2000, 80.1000, 67.2000])
    """
    _check_channels(rgb, "rgb")
    xyz = _apply_matrix(_matrix(XYZ_FROM_RGB, rgb), srgb_to_linear(rgb))
    white = torch.tensor(WHITE_D65, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
    fx, fy, fz = lab_f(xyz / white).unbind(-3)
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=-3)


def lab_to_linear_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE LAB (*, 3, H, W) -> linear sRGB, not yet clipped (out-of-gamut values fall outside [0, 1]).

    >>> too_green = torch.tensor([50.0, -120.0, 0.0]).view(3, 1, 1)
    >>> bool((lab_to_linear_rgb(too_green) < 0).any())  # no sRGB colour is that green
    True
    """
    _check_channels(lab, "lab")
    lightness, a, b = lab.unbind(-3)
    fy = (lightness + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = (fy - b / 200.0).clamp(min=0.0)  # skimage clips negative Z the same way
    white = torch.tensor(WHITE_D65, dtype=lab.dtype, device=lab.device).view(3, 1, 1)
    xyz = lab_f_inverse(torch.stack((fx, fy, fz), dim=-3)) * white
    return _apply_matrix(_matrix(RGB_FROM_XYZ, lab), xyz)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE LAB (*, 3, H, W) -> sRGB in [0, 1], clipped; matches skimage.color.lab2rgb. Never NaN.

    >>> gray = torch.tensor([50.0, 0.0, 0.0]).view(1, 3, 1, 1)
    >>> lab_to_rgb(gray).flatten().round(decimals=3)
    tensor([0.4660, 0.4660, 0.4660])
    >>> lab_to_rgb(torch.zeros(2, 3, 4, 5)).shape
    torch.Size([2, 3, 4, 5])
    """
    return linear_to_srgb(lab_to_linear_rgb(lab)).clamp(0.0, 1.0)


def normalize_lightness(lightness: torch.Tensor) -> torch.Tensor:
    """L in [0, 100] -> the network's input range [-1, 1].

    >>> normalize_lightness(torch.tensor([0.0, 50.0, 100.0]))
    tensor([-1.,  0.,  1.])
    """
    return (lightness - L_CENTER) / L_RANGE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """ab in LAB units -> the network's target range (ab / 128).

    >>> normalize_ab(torch.tensor([-128.0, 64.0]))
    tensor([-1.0000,  0.5000])
    """
    return ab / AB_SCALE


def denormalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """The network's output (ab / 128) -> ab in LAB units.

    >>> denormalize_ab(torch.tensor([-1.0, 0.5]))
    tensor([-128.,   64.])
    """
    return ab * AB_SCALE
