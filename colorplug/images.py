"""Reading and writing photos as plain arrays, keeping what a retoucher cares about.

A `Picture` holds colour samples (gray (H, W) or RGB (H, W, 3), uint8 or uint16), an optional alpha plane,
the ICC profile and EXIF. Loading accepts every common Pillow mode (1, L, LA, I;16, I, F, P, PA, RGB,
RGBA, CMYK, YCbCr, LAB...), 16-bit PNG and TIFF at full precision, applies the EXIF orientation, takes the
first frame of animations and refuses decompression bombs before decoding. Saving is atomic.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from colorplug.errors import ColorplugError
from colorplug.files import atomic_path, display_path
from colorplug.png16 import encode_png16, read_png16, sixteen_bit_raw_mode

DEFAULT_MAX_PIXELS = 150_000_000
ORIENTATION_TAG = 0x0112
# Output formats by file suffix, and which of them keep alpha and 16-bit samples.
FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
ALPHA_FORMATS = {"PNG", "TIFF", "WEBP"}
SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    struct.error,
    EOFError,
    IndexError,
    zlib.error,
    KeyError,
    TypeError,
    MemoryError,
)


class ImageError(ColorplugError):
    """An input that cannot be read or an output that cannot be written."""


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


def to_uint8(samples: np.ndarray) -> np.ndarray:
    """Round 16-bit samples to 8 bits (identity for uint8)."""
    if samples.dtype == np.uint8:
        return samples
    return ((samples.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _megapixels(pixels: float) -> str:
    return f"{pixels / 1e6:.0f} MP" if pixels >= 10e6 else f"{pixels / 1e6:.3g} MP"


def _check_size(width: int, height: int, max_pixels: int | None) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"image declares no pixels ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            f"image declares {width}x{height} = {_megapixels(width * height)}, over the limit of "
            f"{_megapixels(max_pixels)} (possible decompression bomb; raise --max-pixels to allow)"
        )


def _arrays_from_pil(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Colour and alpha arrays for any Pillow mode."""
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("PA", "RGBa", "RGBX"):
        image = image.convert("RGBA" if mode != "RGBX" else "RGB")
    elif mode in ("1", "La"):
        image = image.convert("L" if mode == "1" else "LA")
    elif mode == "CMYK":
        image = _cmyk_to_rgb(image)
    elif mode not in ("L", "LA", "RGB", "RGBA") and not mode.startswith(("I", "F")):
        image = image.convert("RGB")  # YCbCr, LAB, HSV...
    mode = image.mode
    if mode.startswith(("I", "F")):
        samples = np.asarray(image)
        if mode.startswith("I;16"):
            return samples.astype(np.uint16), None
        scale = 65535.0 if np.nanmax(samples, initial=0) > 255 else 255.0
        clipped = np.clip(np.nan_to_num(samples.astype(np.float64)), 0, scale)
        dtype = np.uint16 if scale > 255 else np.uint8
        return np.rint(clipped).astype(dtype), None
    samples = np.asarray(image)
    if mode == "LA":
        return samples[..., 0].copy(), samples[..., 1].copy()
    if mode == "RGBA":
        return samples[..., :3].copy(), samples[..., 3].copy()
    return samples.copy(), None


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    """CMYK -> sRGB through the embedded profile when there is one, else Pillow's plain formula."""
    profile = image.info.get("icc_profile")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return image.convert("RGB")


def _apply_orientation(samples: np.ndarray | None, orientation: int) -> np.ndarray | None:
    """Apply an EXIF orientation (1-8) to an (H, W, ...) array, as ImageOps.exif_transpose does."""
    if samples is None or orientation not in range(2, 9):
        return samples
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(transforms[orientation](samples))


def _tiff_bits(image: Image.Image) -> int:
    bits = getattr(image, "tag_v2", {}).get(258, (8,))
    return max(bits) if isinstance(bits, tuple) else int(bits)


def _read_tiff16(path: Path, max_pixels: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Full-precision samples of a 16-bit TIFF through tifffile (Pillow truncates them to 8 bits)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        _check_size(page.imagewidth, page.imagelength, max_pixels)
        samples = page.asarray()
        if samples.ndim == 3 and page.planarconfig == tifffile.PLANARCONFIG.SEPARATE:
            samples = np.moveaxis(samples, 0, -1)
        if page.photometric == tifffile.PHOTOMETRIC.MINISWHITE:
            samples = np.iinfo(samples.dtype).max - samples
    if samples.dtype != np.uint16:
        raise ImageError(f"unsupported TIFF sample type {samples.dtype}")
    if samples.ndim == 2:
        return samples, None
    channels = samples.shape[2]
    if channels in (1, 2):
        return samples[..., 0].copy(), samples[..., 1].copy() if channels == 2 else None
    return samples[..., :3].copy(), samples[..., 3].copy() if channels >= 4 else None


def _exif_without_orientation(image: Image.Image) -> tuple[bytes | None, int]:
    try:
        exif = image.getexif()
    except _DECODE_ERRORS:
        return None, 1
    orientation = exif.get(ORIENTATION_TAG, 1)
    if ORIENTATION_TAG in exif:
        del exif[ORIENTATION_TAG]
    return (exif.tobytes() if len(exif) else None), orientation if isinstance(orientation, int) else 1


def load_picture(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Picture:
    """Decode an image file into a Picture (EXIF orientation applied). Raises ImageError, one line."""
    path = Path(path)
    if max_pixels is not None and Image.MAX_IMAGE_PIXELS is not None:
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS, max_pixels)  # our limit replaces Pillow's
    try:
        with Image.open(path) as image:
            _check_size(image.width, image.height, max_pixels)
            raw_mode = sixteen_bit_raw_mode(image)  # before anything (EXIF lookup) loads the pixels
            notes = []
            frames = getattr(image, "n_frames", 1)
            if frames > 1:
                notes.append(f"animated ({frames} frames): colorized the first frame only")
            exif, orientation = _exif_without_orientation(image)
            icc = image.info.get("icc_profile") or None
            if image.format == "TIFF" and _tiff_bits(image) == 16:
                color, alpha = _read_tiff16(path, max_pixels)
            elif raw_mode:
                samples = read_png16(path, raw_mode)
                color = samples[..., 0] if raw_mode == "LA;16B" else samples[..., :3]
                alpha = samples[..., -1] if raw_mode != "RGB;16B" else None
            else:
                image.load()
                color, alpha = _arrays_from_pil(image)
                if image.mode == "CMYK":
                    icc = None  # the CMYK profile does not describe the RGB output
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except UnidentifiedImageError:
        raise ImageError("not an image file (unknown or corrupt format)") from None
    except Image.DecompressionBombError:
        limit = max_pixels or Image.MAX_IMAGE_PIXELS
        raise ImageError(
            f"image declares too many pixels, over the limit of {_megapixels(limit)} "
            "(possible decompression bomb; raise --max-pixels to allow)"
        ) from None
    except ImageError:
        raise
    except _DECODE_ERRORS as exc:
        raise ImageError(f"cannot decode image (truncated or corrupt?): {_one_line(exc)}") from None
    if icc and color.ndim == 2:
        icc = None  # a gray profile cannot describe a colour result
    return Picture(
        color=_apply_orientation(color, orientation),
        alpha=_apply_orientation(alpha, orientation),
        icc_profile=icc,
        exif=exif,
        notes=notes,
    )


def picture_from_pil(image: Image.Image) -> Picture:
    """Wrap an in-memory PIL image (orientation left as it is: the caller owns the pixels' layout)."""
    try:
        image.load()
        color, alpha = _arrays_from_pil(image)
    except _DECODE_ERRORS as exc:
        raise ImageError(f"cannot read PIL image: {_one_line(exc)}") from None
    icc = image.info.get("icc_profile") if image.mode in ("RGB", "RGBA", "P", "PA") else None
    return Picture(color=color, alpha=alpha, icc_profile=icc or None)


def picture_from_array(samples: np.ndarray) -> Picture:
    """Wrap an array: (H, W) or (H, W, 1..4); uint8, uint16 or float in [0, 1] (stored as uint16)."""
    array = np.asarray(samples)
    if array.dtype.kind == "f":
        array = np.rint(np.clip(np.nan_to_num(array), 0.0, 1.0) * 65535).astype(np.uint16)
    elif array.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"array dtype must be uint8, uint16 or float, got {array.dtype}")
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


def format_for_suffix(suffix: str) -> str:
    """Pillow format name for an output suffix such as '.jpg'."""
    try:
        return FORMATS[suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ImageError(f"unsupported output type {suffix!r} (use one of {known})") from None


def save_picture(picture: Picture, path: str | Path, quality: int = 95) -> None:
    """Write a Picture atomically in the format its suffix names, 16-bit where the format allows."""
    path = Path(path)
    fmt = format_for_suffix(path.suffix)
    if picture.alpha is not None and fmt not in ALPHA_FORMATS:
        raise ImageError(f"{fmt} cannot store the alpha channel; write .png, .tif or .webp instead")
    try:
        with atomic_path(path) as temp:
            if picture.color.dtype == np.uint16 and fmt in SIXTEEN_BIT_FORMATS:
                _save_16bit(picture, temp, fmt)
            else:
                _save_8bit(picture, temp, fmt, quality)
    except OSError as exc:
        raise ImageError(f"cannot write {display_path(path)}: {exc.strerror or _one_line(exc)}") from None


def _save_16bit(picture: Picture, temp: Path, fmt: str) -> None:
    samples = picture_to_array(picture)
    if fmt == "PNG":
        temp.write_bytes(encode_png16(samples, picture.icc_profile))
        return
    import tifffile

    extra = {"extrasamples": ["unassalpha"]} if picture.alpha is not None else {}
    if picture.icc_profile:
        extra["iccprofile"] = picture.icc_profile
    tifffile.imwrite(
        temp,
        samples if not picture.is_gray or picture.alpha is not None else samples[..., 0],
        photometric="minisblack" if picture.is_gray else "rgb",
        compression="zlib",
        **extra,
    )


def _save_8bit(picture: Picture, temp: Path, fmt: str, quality: int) -> None:
    image = picture_to_pil(picture)
    options: dict = {}
    if picture.icc_profile:
        options["icc_profile"] = picture.icc_profile
    if picture.exif and fmt in ("JPEG", "WEBP", "PNG", "TIFF"):
        options["exif"] = picture.exif
    if fmt == "JPEG":
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        options.update(quality=quality)
    elif fmt == "TIFF":
        options.update(compression="tiff_deflate")
    image.save(temp, format=fmt, **options)


def replace_color(picture: Picture, color: np.ndarray) -> Picture:
    """The same picture (alpha, profile, metadata) with new colour samples."""
    return replace(picture, color=color, notes=list(picture.notes))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
