"""Photos as plain arrays: the Picture type, the size limit it is read under, and its adapters.

A `Picture` holds colour samples (gray (H, W) or RGB (H, W, 3), uint8 or uint16), an optional alpha plane,
the ICC profile and EXIF. Adapters turn every common Pillow mode (1, L, LA, I;16, I, F, P, PA, RGB, RGBA,
CMYK, YCbCr, LAB...) and PNG colour keys (tRNS, as alpha) into those arrays, and numpy arrays and PIL
images into Pictures and back. Reading files is decode.py's job, writing them encode.py's.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageCms

from colorplug.errors import ColorplugError, SettingError, one_line

_LOW_BIT_GRAY_SCALE = {"L;2": 85, "L;4": 17}  # PNG gray of 2 or 4 bits is stretched to 0..255 on decoding


class ImageError(ColorplugError):
    """An input that cannot be read or an output that cannot be written."""


class PixelLimitError(ImageError, SettingError):
    """An image declaring more pixels than `max_pixels` allows (a possible decompression bomb)."""

    def __init__(self, limit: int, size: tuple[int, int] | None = None) -> None:
        self.limit, self.size = limit, size  # the size the header declares, when it is known
        declared = f"{size[0]}x{size[1]} = {megapixels(size[0] * size[1])}" if size else "too many pixels"
        super().__init__(
            "image declares {declared}, over the limit of {limit_mp} "
            "(possible decompression bomb; raise {max_pixels} to allow)",
            ["max_pixels"],
            declared=declared,
            limit_mp=megapixels(limit),
        )


@dataclass
class Picture:
    """A decoded photo: colour samples, optional alpha and the metadata to carry to the output."""

    color: np.ndarray  # (H, W) gray or (H, W, 3) sRGB; uint8 or uint16
    alpha: np.ndarray | None = None  # (H, W), same dtype as color
    icc_profile: bytes | None = None
    exif: bytes | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.color.dtype not in (np.uint8, np.uint16):
            raise ImageError(f"samples must be uint8 or uint16, got {self.color.dtype}")
        if not (self.color.ndim == 2 or (self.color.ndim == 3 and self.color.shape[2] == 3)):
            raise ImageError(f"colour samples must be (H, W) or (H, W, 3), got {self.color.shape}")
        if self.color.shape[0] == 0 or self.color.shape[1] == 0:
            raise ImageError("image has no pixels")

    @property
    def height(self) -> int:
        return self.color.shape[0]

    @property
    def width(self) -> int:
        return self.color.shape[1]

    @property
    def is_gray(self) -> bool:
        return self.color.ndim == 2


@dataclass
class StripedPicture:
    """A colorized photo whose colour samples (H, W, 3) come `rows` rows at a time (the last strip may be
    shorter), once: what a writer that takes strips needs to never hold the full-size result. `source`
    is the photo they colour, whose alpha, ICC profile, metadata and notes they go with."""

    source: Picture
    dtype: type
    rows: int
    strips: Iterator[np.ndarray]

    @property
    def height(self) -> int:
        return self.source.height

    @property
    def width(self) -> int:
        return self.source.width

    def samples(self) -> Iterator[np.ndarray]:
        """The strips (r, W, 3), or (r, W, 4) with the source's alpha rows beside them (the layout
        picture_to_array gives the whole picture in)."""
        alpha = self.source.alpha
        for index, strip in enumerate(self.strips):
            top = index * self.rows
            yield (
                strip
                if alpha is None
                else np.concatenate((strip, alpha[top : top + len(strip), :, None]), axis=2)
            )


ROUNDING_BLOCK = 1 << 20  # samples rounded at a time: uint32 temporaries of 4 MB, not of the photo's size


def to_uint8(samples: np.ndarray) -> np.ndarray:
    """Round 16-bit samples to 8 bits (identity for uint8), a block of rows at a time.

    >>> to_uint8(np.array([0, 128, 32896, 65535], np.uint16))
    array([  0,   0, 128, 255], dtype=uint8)
    """
    if samples.dtype == np.uint8:
        return samples
    out = np.empty(samples.shape, np.uint8)
    flat_in, flat_out = samples.reshape(-1), out.reshape(-1)
    for start in range(0, flat_in.size, ROUNDING_BLOCK):
        block = flat_in[start : start + ROUNDING_BLOCK].astype(np.uint32)
        block *= 255
        block += 32767
        block //= 65535
        flat_out[start : start + ROUNDING_BLOCK] = block
    return out


def megapixels(pixels: float) -> str:
    """A pixel count as error messages give it, in pixels below 0.001 MP:
    >>> megapixels(150_000_000), megapixels(262_144), megapixels(1)
    ('150 MP', '0.262 MP', '1 pixel')
    """
    if pixels < 1000:
        return f"{pixels:.0f} pixel" + ("" if pixels == 1 else "s")
    return f"{pixels / 1e6:.3g} MP" if pixels < 10e6 else f"{pixels / 1e6:.0f} MP"


def check_size(width: int, height: int, max_pixels: int | None) -> None:
    """Refuse an image whose header declares no pixels or more than `max_pixels`, before decoding it."""
    if width <= 0 or height <= 0:
        raise ImageError(f"image declares no pixels ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise PixelLimitError(max_pixels, (width, height))


def standard_depth(samples: np.ndarray) -> np.ndarray:
    """uint8 or uint16 samples from any sample type (bool, signed or wider integers, floats)."""
    samples = samples.astype(samples.dtype.newbyteorder("="), copy=False)
    if samples.dtype in (np.uint8, np.uint16):
        return samples
    if samples.dtype == bool:
        return samples.astype(np.uint8) * np.uint8(255)
    white, whole = _nominal_white(samples)
    scaled = np.clip(np.nan_to_num(samples.astype(np.float32) / np.float32(white)), 0.0, 1.0)
    if whole and white <= 255:
        return np.rint(scaled * 255).astype(np.uint8)
    return np.rint(scaled * 65535).astype(np.uint16)


FLOAT_SLACK = 0.01  # float samples this far outside [0, 1] are rounding, clipped; further: another scale
FLOAT_UNIT_TYPICAL = 2.0  # float samples whose median is above this are not on a 0..1 scale


def _nominal_white(samples: np.ndarray) -> tuple[float, bool]:
    """The value that means white, and whether the samples are whole numbers.

    Signed 8/16-bit integers use their type's maximum. Wider integers and floats do not say, so the values
    decide: floats whose median is at most FLOAT_UNIT_TYPICAL are on a 0..1 scale (an HDR photo's brighter
    highlights clip); other values up to 255 or 65535 are on an 8- or 16-bit scale (as Pillow's modes I
    and F hold them, fractions from a resize included); larger ones use the full range of their type (the
    largest value, for floats). A float photo mostly darker than 2 on a 0..255 scale is taken as 0..1.

    >>> hdr, resized = np.r_[np.linspace(0, 1, 200), [4.0] * 40], np.array([0.5, 128.5, 250.0])
    >>> _nominal_white(hdr), _nominal_white(resized)
    ((1.0, False), (255.0, False))
    """
    integer = samples.dtype.kind in "iu"
    if integer and samples.dtype.itemsize <= 2:
        return float(np.iinfo(samples.dtype).max), True
    finite = samples if integer else samples[np.isfinite(samples)]
    top = float(finite.max(initial=0))
    if not integer and float(np.median(finite) if finite.size else 0) <= FLOAT_UNIT_TYPICAL:
        return 1.0, False
    full = float(np.iinfo(samples.dtype).max) if integer else top
    whole = integer or bool(np.all(finite == np.round(finite)))
    slack = 1.0 if integer else 1 + FLOAT_SLACK  # a resize's ringing just past white
    return next((limit for limit in (255.0, 65535.0) if top <= limit * slack), full), whole


def colour_key(image: Image.Image) -> int | tuple[int, ...] | None:
    """A PNG tRNS colour key of a gray or RGB image, in the decoded samples' scale (call before load)."""
    key = image.info.get("transparency")
    if image.mode not in ("1", "L", "RGB", "I;16", "I;16B") or not isinstance(key, (int, tuple)):
        return None
    raw_mode = image.tile[0].args if image.tile else None
    return key * _LOW_BIT_GRAY_SCALE.get(raw_mode, 1) if isinstance(key, int) else key


def key_alpha(color: np.ndarray, key: int | tuple[int, ...]) -> np.ndarray:
    """Alpha from a colour key: transparent where the colour equals the key, opaque elsewhere."""
    matches = color == np.asarray(key, dtype=color.dtype)
    if color.ndim == 3:
        matches = matches.all(axis=-1)
    return np.where(matches, 0, np.iinfo(color.dtype).max).astype(color.dtype)


def arrays_from_pil(
    image: Image.Image, key: int | tuple[int, ...] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Colour and alpha arrays for any Pillow mode; `key` is a tRNS colour key that becomes alpha."""
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("PA", "RGBa", "RGBX"):
        image = image.convert("RGBA" if mode != "RGBX" else "RGB")
    elif mode in ("1", "La"):
        image = image.convert("L" if mode == "1" else "LA")
    elif mode == "CMYK":
        image = cmyk_to_rgb(image)
    elif mode not in ("L", "LA", "RGB", "RGBA") and not mode.startswith(("I", "F")):
        image = image.convert("RGB")  # YCbCr, LAB, HSV...
    samples = standard_depth(np.asarray(image))
    if image.mode in ("LA", "RGBA"):
        color = samples[..., 0] if image.mode == "LA" else samples[..., :3]
        return color.copy(), samples[..., -1].copy()
    return samples.copy(), None if key is None else key_alpha(samples, key)


def cmyk_to_rgb(image: Image.Image) -> Image.Image:
    """CMYK -> sRGB through the embedded profile when there is one, else Pillow's plain formula."""
    profile = image.info.get("icc_profile")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return image.convert("RGB")


def picture_from_pil(image: Image.Image) -> Picture:
    """Wrap an in-memory PIL image (orientation left as it is: the caller owns the pixels' layout)."""
    try:
        key = colour_key(image)
        image.load()
        color, alpha = arrays_from_pil(image, key)
    except Exception as exc:  # whatever the image's plugin raises
        raise ImageError(f"cannot read PIL image: {one_line(exc)}") from None
    icc = image.info.get("icc_profile") if image.mode in ("RGB", "RGBA", "P", "PA") else None
    return Picture(color=color, alpha=alpha, icc_profile=icc or None)


def _floats_as_uint16(array: np.ndarray) -> np.ndarray:
    """Float samples in [0, 1] (NaN as 0, a little outside clipped) as uint16, scaled in float32 whatever
    their width; samples on another scale (0..255) are refused, not clipped to a white image.

    >>> _floats_as_uint16(np.array([0.0, 0.5, 1.004, np.nan]))
    array([    0, 32768, 65535,     0], dtype=uint16)
    >>> _floats_as_uint16(np.array([0.0, 128.0, 255.0]))
    Traceback (most recent call last):
    ...
    colorplug.io.picture.ImageError: float samples must lie in [0, 1], these reach 255: divide by 255 \
(8-bit scale) or give uint8
    """
    unit = np.nan_to_num(array.astype(np.float32), posinf=np.inf, neginf=-np.inf)
    low, high = (float(unit.min()), float(unit.max())) if unit.size else (0.0, 0.0)
    if low < -FLOAT_SLACK or high > 1 + FLOAT_SLACK:
        reach = f"{high:.4g}" if high > 1 + FLOAT_SLACK else f"{low:.4g}"
        scale = "divide by 255 (8-bit scale) or give uint8" if 2 < high <= 255 else "scale them to [0, 1]"
        raise ImageError(f"float samples must lie in [0, 1], these reach {reach}: {scale}")
    unit = np.clip(unit, 0.0, 1.0, out=unit)
    return np.rint(unit * 65535).astype(np.uint16)


def _native_samples(array: np.ndarray) -> np.ndarray:
    """uint8 or uint16 samples in this machine's byte order, contiguous, from any byte order and any
    strides (a read-only array is only read); floats in [0, 1] scaled in float32 (float16 cannot hold
    65535: a float16 1.0 would overflow). Other dtypes: ImageError."""
    if array.dtype.kind == "f":
        return _floats_as_uint16(array)
    if array.dtype.kind != "u" or array.dtype.itemsize not in (1, 2):
        raise ImageError(
            f"array dtype must be uint8, uint16 or float, got {array.dtype} ({array.dtype.name})"
        )
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))


def picture_from_array(samples: np.ndarray) -> Picture:
    """Wrap an array: (H, W) or (H, W, 1..4); uint8, uint16 or float in [0, 1] (stored as uint16)."""
    array = _native_samples(np.asarray(samples))
    if array.ndim == 3 and array.shape[2] in (1, 2):
        return Picture(
            color=array[..., 0].copy(), alpha=array[..., 1].copy() if array.shape[2] == 2 else None
        )
    if array.ndim == 3 and array.shape[2] == 4:
        return Picture(color=array[..., :3].copy(), alpha=array[..., 3].copy())
    if array.ndim in (2, 3):
        return Picture(color=array)
    raise ImageError(f"array must be (H, W) or (H, W, C) with C in 1..4, got {array.shape}")


def picture_to_array(picture: Picture) -> np.ndarray:
    """(H, W, 3) or (H, W, 4) samples, alpha last when present."""
    color = picture.color[..., None] if picture.is_gray else picture.color
    if picture.alpha is None:
        return color
    return np.concatenate((color, picture.alpha[..., None]), axis=-1)


def picture_to_pil(picture: Picture) -> Image.Image:
    """An 8-bit PIL image (L, LA, RGB or RGBA) with the ICC profile in its info."""
    samples = to_uint8(picture_to_array(picture))
    image = Image.fromarray(samples[..., 0] if samples.shape[2] == 1 else samples)
    if picture.icc_profile:
        image.info["icc_profile"] = picture.icc_profile
    return image


def replace_color(picture: Picture, color: np.ndarray) -> Picture:
    """The same picture (alpha, profile, metadata) with new colour samples."""
    return replace(picture, color=color, notes=list(picture.notes))
