"""Full-resolution colour composition: the photo's own L plus chroma predicted at a small render size.

The network sees L at a render size (short side 256 by default); its ab is upsampled bilinearly onto the
full-resolution L, so detail and tones come from the photo itself. The full-size work is plain float32
numpy on cache-sized row blocks spread over a few threads (numpy releases the GIL), with tables where the
maths allows: L needs only luminance (one table per channel), and the sRGB encoding of 8-bit outputs is a
table over the linear value. Each block's L is made from the photo's own samples on the spot (for the
network's input too, see small_lightness), so no full-size float plane exists: peak memory stays a few
blocks above the input and output arrays.
The results match the reference conversions (skimage's lab2rgb after F.interpolate) to within one level.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from colorplug.color.lab import (
    LAB_EPSILON,
    LAB_F_INVERSE_THRESHOLD,
    LAB_F_OFFSET,
    LAB_TOE_SLOPE,
    RGB_FROM_XYZ,
    WHITE_D65,
    XYZ_FROM_RGB,
    lab_f,
    lab_to_linear_rgb,
    linear_to_srgb,
    srgb_to_linear,
)
from colorplug.defaults import DEFAULT_RENDER_SIZE, MIN_RENDER_SIZE

BLOCK_PIXELS = 1 << 16  # rows per block are chosen so a block holds about this many pixels
STRIP_PIXELS = 1 << 19  # strips a writer takes (compose_strips): 8 blocks, 1.5-3 MB of RGB each
MAX_ASPECT = 4.0  # the render size's long side is at most this many times its short side
GAMUT_STEPS = 8
ENCODE_TABLE_SIZE = 1 << 16  # sqrt(linear value) -> 8-bit sRGB code table (see _encode_table)

# XYZ -> linear sRGB with the reference white folded in, for the full-size conversion
_RGB_FROM_SCALED_XYZ = (np.asarray(RGB_FROM_XYZ) * np.asarray(WHITE_D65)).astype(np.float32)


def _threads() -> int:
    return max(1, min(torch.get_num_threads(), os.cpu_count() or 1))


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_threads(), thread_name_prefix="colorplug-compose")


def _for_row_blocks(height: int, width: int, work) -> None:
    """Call work(rows: slice) over blocks of rows covering `height`, in parallel threads."""
    step = max(1, BLOCK_PIXELS // max(1, width))
    blocks = [slice(top, min(top + step, height)) for top in range(0, height, step)]
    if _threads() == 1 or len(blocks) < 4:
        for rows in blocks:
            work(rows)
        return
    for future in [_pool().submit(work, rows) for rows in blocks]:
        future.result()


@functools.lru_cache(maxsize=4)
def _luminance_tables(levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, each code's share of luminance Y (3, levels); and L* of each gray code (levels,).

    Built in float64 with lab.py's own formulas, so the tables and the reference conversion agree.
    """
    linear = srgb_to_linear(torch.arange(levels, dtype=torch.float64) / (levels - 1))
    weights = torch.tensor(XYZ_FROM_RGB[1], dtype=torch.float64)[:, None]
    gray_lightness = 116.0 * lab_f(weights.sum() * linear) - 16.0  # R = G = B
    return (weights * linear).float().numpy(), gray_lightness.float().numpy()


def _is_gray_rgb(color: np.ndarray) -> bool:
    return bool(np.array_equal(color[..., 0], color[..., 1]) and np.array_equal(color[..., 1], color[..., 2]))


def _lightness_block(color: np.ndarray) -> np.ndarray:
    """CIE L* (r, W) float32 of one block of gray (r, W) or sRGB (r, W, 3) uint8/uint16 samples."""
    levels = 65536 if color.dtype == np.uint16 else 256
    tables, gray_table = _luminance_tables(levels)
    if color.ndim == 2:
        return np.take(gray_table, color, mode="clip")
    y = np.take(tables[0], color[..., 0])
    y += np.take(tables[1], color[..., 1])
    y += np.take(tables[2], color[..., 2])
    toe = y <= LAB_EPSILON
    linear_part = y * np.float32(116.0 * LAB_TOE_SLOPE) + np.float32(116.0 * LAB_F_OFFSET - 16.0)
    np.cbrt(y, out=y)
    y *= np.float32(116.0)
    y -= np.float32(16.0)
    np.copyto(y, linear_part, where=toe)
    return y


def lightness_samples(color: np.ndarray) -> np.ndarray:
    """The samples L is made from: a gray photo stored as RGB as its one channel (a view; its L through
    the one gray table), else `color` itself. Checking costs ~20 ms at 12 MP: callers that make L twice
    (the network's input, then the composition) pass this on instead of the photo.

    >>> lightness_samples(np.zeros((2, 3, 3), np.uint8)).shape
    (2, 3)
    """
    return color[..., 0] if color.ndim == 3 and _is_gray_rgb(color) else color


def lightness(color: np.ndarray) -> np.ndarray:
    """CIE L* (H, W) float32 of gray (H, W) or sRGB (H, W, 3) uint8/uint16 samples.

    L depends only on luminance: a gray code maps to L through one table; RGB codes through three
    tables (each channel's share of Y) and the cube root.

    >>> lightness(np.array([[0, 255]], np.uint8))
    array([[  0., 100.]], dtype=float32)
    >>> lightness(np.zeros((4, 6, 3), np.uint16)).shape
    (4, 6)
    """
    color = lightness_samples(color)
    height, width = color.shape[:2]
    out = np.empty((height, width), dtype=np.float32)

    def work(rows: slice) -> None:
        out[rows] = _lightness_block(color[rows])

    _for_row_blocks(height, width, work)
    return out


def render_shape(height: int, width: int, render_size: int) -> tuple[int, int]:
    """Network input size: short side = render_size, aspect kept, long side capped at MAX_ASPECT x.

    A render size above both the photo's short side and DEFAULT_RENDER_SIZE is lowered to the larger of
    the two: enlarging a small photo further only interpolates, at a cost that grows with the square.

    >>> render_shape(3000, 4000, 256), render_shape(100, 1000, 256), render_shape(600, 800, 4096)
    ((256, 341), (102, 1024), (600, 800))
    """
    if render_size < MIN_RENDER_SIZE:
        raise ValueError(f"render size must be at least {MIN_RENDER_SIZE}, got {render_size}")
    short, long = min(height, width), max(height, width)
    render_size = min(render_size, max(short, DEFAULT_RENDER_SIZE))
    long_side = min(round(long * render_size / short), round(render_size * MAX_ASPECT))
    short_side = max(1, min(render_size, round(short * long_side / long)))
    return (short_side, long_side) if height <= width else (long_side, short_side)


def _resize(plane: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Antialiased bilinear resize of a (h, w) float plane."""
    return F.interpolate(plane[None, None], size=shape, mode="bilinear", align_corners=False, antialias=True)[
        0, 0
    ]


def small_lightness(color: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """The network's input: L of gray or sRGB samples (see lightness), resized to `shape` (h, w).

    Antialiased bilinear resizing is separable: each block of rows gets its L and is narrowed to w
    columns at once, and only that narrow plane (H, w) is shortened to h rows, so the full-size L plane
    (4 bytes a pixel) never exists.

    >>> white = small_lightness(np.full((300, 400), 255, np.uint8), (6, 8))
    >>> white.shape, round(float(white.min()), 3)
    (torch.Size([6, 8]), 100.0)
    """
    color = lightness_samples(color)
    height, width = color.shape[:2]
    if (height, width) == tuple(shape):
        return torch.from_numpy(lightness(color))
    narrow = torch.empty(height, shape[1])
    step = max(1, BLOCK_PIXELS * 4 // width)  # strips of four blocks: fewer, larger torch calls
    for top in range(0, height, step):  # in this thread: torch ops in pool threads would start more pools
        strip = torch.from_numpy(_lightness_block(color[top : top + step]))
        narrow[top : top + step] = strip if shape[1] == width else _resize(strip, (strip.shape[0], shape[1]))
    return narrow if shape[0] == height else _resize(narrow, shape)


def fit_to_gamut(lightness_small: torch.Tensor, ab: torch.Tensor, steps: int = GAMUT_STEPS) -> torch.Tensor:
    """Shrink each pixel's chroma (keeping hue and L) until its colour is inside the sRGB gamut.

    `lightness_small` is (*, 1, h, w), `ab` (*, 2, h, w). Clipping out-of-gamut colours instead would
    shift hue and lightness; bisection on a chroma factor finds the largest one that fits. Only the
    pixels outside the gamut are searched.

    >>> vivid = torch.tensor([100.0, 100.0]).view(2, 1, 1)  # far outside sRGB at L = 50
    >>> fit_to_gamut(torch.full((1, 1, 1), 50.0), vivid).flatten()  # same hue, less chroma
    tensor([62.1094, 62.1094])
    """

    def fits(lab: torch.Tensor) -> torch.Tensor:  # lab (3, n, 1)
        rgb = lab_to_linear_rgb(lab)
        return ((rgb >= -1e-4) & (rgb <= 1 + 1e-4)).all(dim=0)

    lab = torch.cat((lightness_small, ab), dim=-3).movedim(-3, 0).reshape(3, -1, 1)
    outside = ~fits(lab)[:, 0]
    if not bool(outside.any()):
        return ab
    picked = lab[:, outside]
    low = torch.zeros(picked.shape[1:], dtype=lab.dtype)
    high = torch.ones_like(low)
    for _ in range(steps):
        middle = (low + high) / 2
        ok = fits(torch.cat((picked[:1], picked[1:] * middle), dim=0))
        low = torch.where(ok, middle, low)
        high = torch.where(ok, high, middle)
    scale = torch.ones(lab.shape[1], dtype=lab.dtype)
    scale[outside] = low[:, 0]
    return ab * scale.reshape(*ab.shape[:-3], 1, *ab.shape[-2:])


def _bilinear_axis(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of bilinear resampling along one axis (align_corners=False)."""
    position = np.maximum((np.arange(size_out, dtype=np.float64) + 0.5) * (size_in / size_out) - 0.5, 0)
    first = np.minimum(np.floor(position).astype(np.intp), size_in - 1)
    second = np.minimum(first + 1, size_in - 1)
    return first, second, (position - first).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _encode_table() -> np.ndarray:
    """8-bit sRGB code for ENCODE_TABLE_SIZE evenly spaced values of sqrt(linear) in [0, 1].

    Indexing by the square root spreads the entries where the sRGB curve is steep (near black), so
    the table is off by at most a few thousandths of a level before rounding.
    """
    linear = torch.linspace(0.0, 1.0, ENCODE_TABLE_SIZE, dtype=torch.float64) ** 2
    return np.rint(linear_to_srgb(linear).numpy() * 255).astype(np.uint8)


def _f_inverse(f: np.ndarray) -> np.ndarray:
    """LAB's f^-1 (cube with a linear toe), elementwise; the toe, for very dark values, is patched in."""
    cube = f * f
    cube *= f
    toe = f <= LAB_F_INVERSE_THRESHOLD
    if toe.any():
        cube[toe] = (f[toe] - np.float32(LAB_F_OFFSET)) * np.float32(1 / LAB_TOE_SLOPE)
    return cube


def _encode(linear: np.ndarray, out: np.ndarray) -> None:
    """Linear RGB (3, n) -> sRGB samples written into `out` (n, 3): 8-bit by table, 16-bit exactly."""
    np.clip(linear, 0.0, 1.0, out=linear)
    if out.dtype == np.uint8:
        np.sqrt(linear, out=linear)
        linear *= np.float32(ENCODE_TABLE_SIZE - 1)
        linear += np.float32(0.5)
        codes = linear.astype(np.int32)
        for channel in range(3):
            np.take(_encode_table(), codes[channel], out=out[:, channel], mode="clip")
        return
    _encode_16bit(linear)
    out[...] = linear.T


def _encode_16bit(linear: np.ndarray) -> None:
    """Clipped linear values -> 16-bit sRGB codes (as rounded floats), in place: lab.linear_to_srgb's
    curve, with the scaling folded in and no full-block temporaries but the (rare) toe's."""
    toe = linear <= np.float32(0.0031308)
    toe_codes = linear[toe] * np.float32(12.92 * 65535)
    np.power(linear, np.float32(1 / 2.4), out=linear)
    linear *= np.float32(1.055 * 65535)
    linear -= np.float32(0.055 * 65535)
    linear[toe] = toe_codes
    np.rint(linear, out=linear)


def compose(color: np.ndarray, ab_small: torch.Tensor, dtype: np.dtype, padded: bool = False) -> np.ndarray:
    """sRGB samples (H, W, 3) of `dtype` (uint8 or uint16): the L of the photo's own gray or sRGB samples
    `color` (H, W) or (H, W, 3) with small ab (2, h, w) upsampled onto it. `padded`: a view of the first
    three channels of an (H, W, 4) array, the layout an encoder takes without a copy (Pillow's RGBX).

    Equivalent to lightness(), F.interpolate(mode='bilinear') of ab and skimage's lab2rgb, in row blocks
    (each block's L made on the spot: no full-size float plane).

    >>> rgb = compose(np.full((30, 40), 119, np.uint8), torch.zeros(2, 3, 4), np.uint8)
    >>> rgb.shape, rgb[0, 0]
    ((30, 40, 3), array([119, 119, 119], dtype=uint8))
    >>> padded = compose(np.full((30, 40), 119, np.uint8), torch.zeros(2, 3, 4), np.uint8, padded=True)
    >>> padded.base.shape, np.array_equal(padded, rgb)
    ((30, 40, 4), True)
    """
    fill, (height, width) = _filler(color, ab_small)
    out = np.empty((height, width, 4 if padded else 3), dtype=dtype)
    _for_row_blocks(height, width, lambda rows: fill(rows, out[rows]))
    return out[..., :3] if padded else out


def compose_strips(
    color: np.ndarray, ab_small: torch.Tensor, dtype: np.dtype, rows: int
) -> Iterator[np.ndarray]:
    """The samples compose() gives, `rows` rows at a time (the last strip may be shorter), each strip a
    new array: a writer that takes strips never holds the full-size result (3 or 6 bytes a pixel).

    >>> strips = compose_strips(np.full((30, 40), 119, np.uint8), torch.zeros(2, 3, 4), np.uint8, 16)
    >>> [strip.shape for strip in strips]
    [(16, 40, 3), (14, 40, 3)]
    """
    fill, (height, width) = _filler(color, ab_small)
    for top in range(0, height, rows):
        strip = np.empty((min(rows, height - top), width, 3), dtype=dtype)
        _for_row_blocks(strip.shape[0], width, functools.partial(_fill_strip, fill, top, strip))
        yield strip


def _fill_strip(fill: Callable[[slice, np.ndarray], None], top: int, strip: np.ndarray, block: slice) -> None:
    """fill() of the strip's rows `block`, the strip starting at the photo's row `top`."""
    fill(slice(top + block.start, top + block.stop), strip[block])


def _filler(
    color: np.ndarray, ab_small: torch.Tensor
) -> tuple[Callable[[slice, np.ndarray], None], tuple[int, int]]:
    """fill(rows, out) writing the sRGB samples of the photo's `rows` into `out` (r, W, 3 or 4), and the
    photo's (H, W): what compose and compose_strips share (ab resampled across once, small)."""
    color = lightness_samples(color)
    height, width = color.shape[:2]
    small = ab_small.detach().cpu().numpy().astype(np.float32)
    x0, x1, wx = _bilinear_axis(small.shape[-1], width)
    y0, y1, wy = _bilinear_axis(small.shape[-2], height)
    ab_wide = small[:, :, x0] * (1 - wx) + small[:, :, x1] * wx  # (2, h, W): small, done once
    ab_wide[0] *= np.float32(1 / 500)
    ab_wide[1] *= np.float32(-1 / 200)

    def fill(rows: slice, out: np.ndarray) -> None:
        weight = wy[rows, None]
        ab = ab_wide[:, y0[rows]] * (1 - weight)
        ab += ab_wide[:, y1[rows]] * weight  # (2, r, W): a / 500 and -b / 200
        f = np.empty((3, *ab.shape[1:]), dtype=np.float32)
        np.add(_lightness_block(color[rows]), np.float32(16.0), out=f[1])
        f[1] *= np.float32(1 / 116.0)
        np.add(f[1], ab[0], out=f[0])  # fx = fy + a / 500
        np.add(f[1], ab[1], out=f[2])  # fz = fy - b / 200
        np.maximum(f[2], 0, out=f[2])  # skimage clips negative z
        linear = np.matmul(_RGB_FROM_SCALED_XYZ, _f_inverse(f).reshape(3, -1))
        _encode(linear, out.reshape(-1, out.shape[-1])[:, :3])

    return fill, (height, width)
