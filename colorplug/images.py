"""Reading and writing photos as plain arrays, keeping what a retoucher cares about.

A `Picture` holds colour samples (gray (H, W) or RGB (H, W, 3), uint8 or uint16), an optional alpha plane,
the ICC profile and EXIF. Loading accepts only regular files (a named pipe or a device is refused before it
is opened), every common Pillow mode (1, L, LA, I;16, I, F, P, PA, RGB, RGBA, CMYK, YCbCr, LAB...) and PNG
colour keys (tRNS) as alpha; 16-bit PNG at full precision; TIFF through tifffile (8/16/32-bit integer and
float samples, gray, RGB, palette, CMYK, bilevel, MinIsWhite, alpha, planar, tiled, BigTIFF; first page);
applies the orientation, takes the first frame of animations and refuses decompression bombs and image data
that stops short. Only descriptive EXIF is carried, sized and typed so that every output format can hold it.
Saving is atomic; TIFF outputs are written by tifffile, which Pillow and tifffile both read.
"""

from __future__ import annotations

import io
import logging
import math
import os
import stat
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageCms, TiffImagePlugin, UnidentifiedImageError

from colorplug.errors import ColorplugError, one_line
from colorplug.files import atomic_path, display_path
from colorplug.png16 import check_png_complete, encode_png16, read_png16, sixteen_bit_raw_mode
from colorplug.provenance import SOFTWARE, SOFTWARE_TAG

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
}
ALPHA_FORMATS = {"PNG", "TIFF", "WEBP"}
SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}
EXIF_FORMATS = {"JPEG", "PNG", "TIFF", "WEBP"}
# EXIF lives in one JPEG APP1 segment (65535 bytes less the length field), its "Exif" header included.
EXIF_LIMIT = 65533
XMP_NOTE = "XMP metadata: not carried (colorplug carries the ICC profile and EXIF)"
MARK_ROOM = 64  # bytes kept free below EXIF_LIMIT for the Software tag that marks colorplug's outputs
EXIF_IFD, GPS_IFD, INTEROP_IFD = 0x8769, 0x8825, 0xA005
# IFD0 tags that describe the photo, not the layout of its samples: everything else in a TIFF's IFD0
# (BitsPerSample, PhotometricInterpretation, StripOffsets, Compression...) would be wrong in the output.
DESCRIPTIVE_TAGS = frozenset(
    {
        0x010D,  # DocumentName
        0x010E,  # ImageDescription
        0x010F,  # Make
        0x0110,  # Model
        0x011A,  # XResolution
        0x011B,  # YResolution
        0x011D,  # PageName
        0x0128,  # ResolutionUnit
        0x0131,  # Software
        0x0132,  # DateTime
        0x013B,  # Artist
        0x013C,  # HostComputer
        0x4746,  # Rating
        0x4749,  # RatingPercent
        0x8298,  # Copyright
        0x9C9B,  # XPTitle
        0x9C9C,  # XPComment
        0x9C9D,  # XPAuthor
        0x9C9E,  # XPKeywords
        0x9C9F,  # XPSubject
    }
)
SIZE_TAGS = frozenset({0xA002, 0xA003})  # PixelXDimension, PixelYDimension: stale once orientation is applied
_RESOLUTION_TAGS = (0x011A, 0x011B, 0x0128)  # tifffile writes these itself (resolution=, resolutionunit=)
# tifffile refuses to write the Exif and GPS IFD pointers: they go in under the next (unused) tag codes,
# which keeps the entries in ascending order once renamed.
_POINTER_STAND_INS = {EXIF_IFD: EXIF_IFD + 1, GPS_IFD: GPS_IFD + 1}
_FILE_KINDS = (
    (stat.S_ISDIR, "is a folder, not an image"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
    (stat.S_ISCHR, "is a device, not a regular file"),
    (stat.S_ISBLK, "is a device, not a regular file"),
)
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_LOW_BIT_GRAY_SCALE = {"L;2": 85, "L;4": 17}  # PNG gray of 2 or 4 bits is stretched to 0..255 on decoding
MAX_TIFF_SAMPLES = 8  # samples a pixel: CMYK with alpha takes 5
# TIFF photometric -> colour samples: MinIsWhite, MinIsBlack, RGB, palette, separated (CMYK).
_TIFF_COLOUR_CHANNELS = {0: 1, 1: 1, 2: 3, 3: 1, 5: 4}
# struct format of one item of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL... DOUBLE, IFD).
_TIFF_ITEM_FORMATS = dict(
    enumerate(("B", "s", "H", "L", "2L", "b", "B", "h", "l", "2l", "f", "d", "L"), start=1)
)

# tifffile logs what it finds odd in a bad file; the one-line ImageError already says it.
logging.getLogger("tifffile").addHandler(logging.NullHandler())


class ImageError(ColorplugError):
    """An input that cannot be read or an output that cannot be written."""


class _TiffNeedsPillow(Exception):
    """tifffile cannot decode this page (its codec needs imagecodecs, or an unusual photometric)."""

    def __init__(self, reason: str, wide: bool) -> None:
        super().__init__(reason)
        self.wide = wide  # samples of more than 8 bits, which Pillow may reduce to 8


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


def not_a_regular_file(path: str | os.PathLike) -> str | None:
    """Why a path is not a regular file (a folder, a named pipe, a device...), found without opening it,
    or None when it is one: opening a FIFO or a device to read it can block forever. Raises OSError."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return next((why for test, why in _FILE_KINDS if test(mode)), "is not a regular file")


def _check_regular_file(path: Path) -> None:
    try:
        why = not_a_regular_file(path)
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except OSError as exc:
        raise ImageError(f"cannot read: {exc.strerror or one_line(exc)}") from None
    if why:
        raise ImageError(why)


def _standard_depth(samples: np.ndarray) -> np.ndarray:
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


def _nominal_white(samples: np.ndarray) -> tuple[float, bool]:
    """The value that means white, and whether the samples are whole numbers.

    Signed 8/16-bit integers use their type's maximum. Wider integers and floats do not say, so the values
    decide: floats within [0, 1] or with fractions are on a 0..1 scale (brighter HDR values clip); whole
    numbers up to 255 or 65535 are 8- or 16-bit values (as Pillow's modes I and F hold them); larger ones
    use the full range of their type (the largest value, for floats).
    """
    integer = samples.dtype.kind in "iu"
    if integer and samples.dtype.itemsize <= 2:
        return float(np.iinfo(samples.dtype).max), True
    finite = samples if integer else samples[np.isfinite(samples)]
    top = float(finite.max(initial=0))
    if not integer and (top <= 1 or not np.all(finite == np.round(finite))):
        return 1.0, False
    full = float(np.iinfo(samples.dtype).max) if integer else top
    return next((limit for limit in (255.0, 65535.0) if top <= limit), full), True


def _colour_key(image: Image.Image) -> int | tuple[int, ...] | None:
    """A PNG tRNS colour key of a gray or RGB image, in the decoded samples' scale (call before load)."""
    key = image.info.get("transparency")
    if image.mode not in ("1", "L", "RGB", "I;16", "I;16B") or not isinstance(key, (int, tuple)):
        return None
    raw_mode = image.tile[0].args if image.tile else None
    return key * _LOW_BIT_GRAY_SCALE.get(raw_mode, 1) if isinstance(key, int) else key


def _key_alpha(color: np.ndarray, key: int | tuple[int, ...]) -> np.ndarray:
    """Alpha from a colour key: transparent where the colour equals the key, opaque elsewhere."""
    matches = color == np.asarray(key, dtype=color.dtype)
    if color.ndim == 3:
        matches = matches.all(axis=-1)
    return np.where(matches, 0, np.iinfo(color.dtype).max).astype(color.dtype)


def _arrays_from_pil(
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
        image = _cmyk_to_rgb(image)
    elif mode not in ("L", "LA", "RGB", "RGBA") and not mode.startswith(("I", "F")):
        image = image.convert("RGB")  # YCbCr, LAB, HSV...
    samples = _standard_depth(np.asarray(image))
    if image.mode in ("LA", "RGBA"):
        color = samples[..., 0] if image.mode == "LA" else samples[..., :3]
        return color.copy(), samples[..., -1].copy()
    return samples.copy(), None if key is None else _key_alpha(samples, key)


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


# --- EXIF: read as a tree (IFD0 tags, Exif and GPS IFDs as dicts), carried only where every format can --


def _tag_name(group: int | None, tag: int) -> str:
    names = ExifTags.GPSTAGS if group == GPS_IFD else ExifTags.TAGS
    return names.get(tag, f"0x{tag:04X}")


def _exif_tree(exif: Image.Exif) -> tuple[dict[int, Any], list[str]]:
    """IFD0's tags with the Exif and GPS IFDs (and Interop inside Exif) read into dicts, and notes."""
    tree = {tag: value for tag, value in exif.items() if tag not in (EXIF_IFD, GPS_IFD)}
    notes: list[str] = []
    for group in (EXIF_IFD, GPS_IFD):
        entries = _sub_ifd(exif, group, notes)
        if INTEROP_IFD in entries:  # an offset into the source: replaced by the IFD it points at
            interop = _sub_ifd(exif, INTEROP_IFD, notes)
            del entries[INTEROP_IFD]
            entries.update({INTEROP_IFD: interop} if interop else {})
        if entries:
            tree[group] = entries
    return tree, notes


def _sub_ifd(exif: Image.Exif, group: int, notes: list[str]) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(group))
    except Exception as exc:  # a corrupt offset or entry: Pillow raises many types
        notes.append(f"EXIF {_tag_name(None, group)} unreadable ({one_line(exc)}): not carried")
        return {}


def _serialized_size(group: int | None, tag: int, value: Any) -> int | None:
    """Bytes the tag takes once written as EXIF, or None when Pillow cannot write its value."""
    directory = TiffImagePlugin.ImageFileDirectory_v2(group=group)
    try:
        directory[tag] = value
        return len(directory.tobytes())
    except Exception:  # odd tag types or values: Pillow raises struct.error, TypeError, ValueError...
        return None


def _exif_bytes(entries: dict[tuple[int | None, int], Any]) -> bytes | None:
    """Pillow's EXIF bytes ("Exif" header included) for (group, tag) -> value entries."""
    groups: dict[int | None, dict[int, Any]] = {}
    for (group, tag), value in entries.items():
        groups.setdefault(group, {})[tag] = value
    exif = Image.Exif()
    exif.update(groups.pop(None, {}))
    exif.update(groups)  # the Exif and GPS IFDs, as dicts
    return exif.tobytes() if len(exif) else None


def _portable_exif(tree: dict[int, Any]) -> tuple[bytes | None, list[str]]:
    """The descriptive EXIF of a tree as bytes every output format can hold, and notes on what was dropped.

    Kept: IFD0's descriptive tags and the Exif and GPS IFDs; never the source's structural TIFF tags, array
    layouts passed off as descriptions, orientation (applied to the pixels) nor pixel dimensions. A tag
    that cannot be written is dropped; while the whole is over the 64 KB of one JPEG segment, the largest
    tag is dropped.
    """
    entries = {
        (None, tag): value
        for tag, value in tree.items()
        if tag in DESCRIPTIVE_TAGS and not (tag == 0x010E and _layout_description(value))
    }
    for group in (EXIF_IFD, GPS_IFD):
        entries.update({(group, tag): v for tag, v in tree.get(group, {}).items() if tag not in SIZE_TAGS})
    sizes = {key: _serialized_size(*key, value) for key, value in entries.items()}
    notes = []
    unwritable = [key for key, size in sizes.items() if size is None]
    if unwritable:
        notes.append(f"EXIF {', '.join(_tag_name(*key) for key in unwritable)}: cannot be written, dropped")
    entries = {key: value for key, value in entries.items() if sizes[key] is not None}
    dropped = []
    while entries and len(_exif_bytes(entries) or b"") > EXIF_LIMIT - MARK_ROOM:
        largest = max(entries, key=lambda key: sizes[key])
        dropped.append(f"{_tag_name(*largest)} ({sizes[largest] // 1024} KB)")
        del entries[largest]
    if dropped:
        notes.append(f"EXIF {', '.join(dropped)}: over the 64 KB that EXIF can hold, dropped")
    return _exif_bytes(entries), notes


def _layout_description(value: Any) -> bool:
    """Whether an ImageDescription is an array layout written by a scientific tool (tifffile's JSON shape,
    ImageJ's header, OME-XML): it describes the source's samples and misleads readers of the output."""
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return text.lstrip().startswith(("{", "ImageJ=")) or "<OME" in text[:1000]


def _orientation(tree: dict[int, Any]) -> int:
    value = tree.get(ORIENTATION_TAG, 1)
    return value if isinstance(value, int) else 1


def _make_picture(
    color: np.ndarray, alpha: np.ndarray | None, icc: bytes | None, tree: dict[int, Any], notes: list[str]
) -> Picture:
    """A Picture with the orientation the metadata still asks for applied and its EXIF made portable."""
    orientation = _orientation(tree)
    exif, exif_notes = _portable_exif(tree)
    return Picture(
        color=_apply_orientation(color, orientation),
        alpha=_apply_orientation(alpha, orientation),
        icc_profile=icc if color.ndim == 3 else None,  # a gray profile cannot describe a colour result
        exif=exif,
        notes=notes + exif_notes,
    )


# --- decoding -------------------------------------------------------------------------------------------


def load_picture(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Picture:
    """Decode an image file into a Picture (orientation applied). Raises ImageError, one line."""
    path = Path(path)
    _check_regular_file(path)
    if max_pixels is not None and Image.MAX_IMAGE_PIXELS is not None:
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS, max_pixels)  # our limit replaces Pillow's
    try:
        return _load_tiff(path, max_pixels) if _is_tiff(path) else _load_with_pillow(path, max_pixels)
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
    except Exception as exc:  # Pillow's plugins, tifffile and imagecodecs raise many types for bad data
        raise ImageError(f"cannot decode image (truncated or corrupt?): {one_line(exc)}") from None


def _is_tiff(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) in _TIFF_SIGNATURES


def _load_with_pillow(path: Path, max_pixels: int | None) -> Picture:
    with Image.open(path) as image:
        _check_size(image.width, image.height, max_pixels)
        raw_mode = sixteen_bit_raw_mode(image)  # before anything (EXIF lookup) loads the pixels
        key = _colour_key(image)
        frames = getattr(image, "n_frames", 1)
        notes = [f"animated ({frames} frames): colorized the first frame only"] if frames > 1 else []
        if image.format == "PNG":
            check_png_complete(path)  # Pillow leaves the rows of a short zlib stream black, silently
        if raw_mode:
            samples = read_png16(path, raw_mode)
            color = samples[..., 0] if raw_mode == "LA;16B" else samples[..., :3]
            alpha = samples[..., -1] if raw_mode != "RGB;16B" else None
            alpha = _key_alpha(color, key) if key is not None else alpha
        else:
            image.load()
            color, alpha = _arrays_from_pil(image, key)
        tree, exif_notes = _pillow_exif(image)  # after load: Pillow has applied a TIFF's orientation itself
        if image.info.get("xmp") or image.info.get("XML:com.adobe.xmp"):
            notes.append(XMP_NOTE)
        icc = image.info.get("icc_profile") if image.mode != "CMYK" else None  # CMYK's is used up
    return _make_picture(color, alpha, icc or None, tree, notes + exif_notes)


def _pillow_exif(image: Image.Image) -> tuple[dict[int, Any], list[str]]:
    try:
        return _exif_tree(image.getexif())
    except Exception as exc:  # corrupt EXIF must not stop a readable photo
        return {}, [f"EXIF unreadable ({one_line(exc)}): not carried"]


def _load_tiff(path: Path, max_pixels: int | None) -> Picture:
    """A TIFF through tifffile; through Pillow where tifffile lacks the page's codec (no imagecodecs)."""
    try:
        return _load_with_tifffile(path, max_pixels)
    except _TiffNeedsPillow as reason:
        try:
            picture = _load_with_pillow(path, max_pixels)
        except Exception:
            raise ImageError(f"cannot decode TIFF: {reason}") from None
        if reason.wide and picture.color.dtype == np.uint8:
            picture.notes.append(f"{reason}: read at 8 bits per sample")
        return picture


def _load_with_tifffile(path: Path, max_pixels: int | None) -> Picture:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.pages:
            raise ImageError("TIFF holds no image")
        page = tif.pages[0]
        _check_size(page.imagewidth, page.imagelength, max_pixels)
        pages = len(tif.pages)
        notes = [f"multi-page TIFF ({pages} pages): colorized the first page only"] if pages > 1 else []
        color, alpha, icc = _tiff_arrays(page)
        exif = Image.Exif()
        exif.endian, exif.bigtiff = tif.byteorder, tif.is_bigtiff
        exif.load_from_fp(tif.filehandle, page.offset)
        tree, exif_notes = _exif_tree(exif)
        if 700 in page.tags:  # XMP
            notes.append(XMP_NOTE)
    return _make_picture(color, alpha, icc, tree, notes + exif_notes)


def _tiff_samples(page) -> np.ndarray:
    """A page's samples as (H, W, samples per pixel), whatever the planar configuration; the layout is
    checked first, as the pixel count alone does not bound what decoding a volume or 60000 bands takes."""
    from tifffile import PHOTOMETRIC

    separate, depth, height, width, contig = page.shaped
    if depth != 1 or page.samplesperpixel > MAX_TIFF_SAMPLES:
        raise ImageError(f"TIFF of {depth} plane(s) of {page.samplesperpixel} samples a pixel is not a photo")
    try:
        samples = page.asarray()
    except (ValueError, ImportError) as exc:
        if isinstance(exc, ValueError) and "imagecodecs" not in str(exc):
            raise
        if page.photometric == PHOTOMETRIC.MINISWHITE and page.bitspersample > 8:  # Pillow leaves it inverted
            raise ImageError(f"cannot decode TIFF: {one_line(exc)}") from None
        raise _TiffNeedsPillow(one_line(exc), page.bitspersample > 8) from None
    return np.moveaxis(samples.reshape(separate, height, width, contig), 0, -1).reshape(height, width, -1)


def _tiff_arrays(page) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """Colour (gray or RGB), alpha and ICC profile of a TIFF page decoded by tifffile."""
    from tifffile import COMPRESSION, EXTRASAMPLE, PHOTOMETRIC

    photometric = page.photometric
    channels = _TIFF_COLOUR_CHANNELS.get(int(photometric))
    if photometric == PHOTOMETRIC.YCBCR and page.compression == COMPRESSION.JPEG:
        channels = 3  # tifffile decodes JPEG-compressed YCbCr to RGB
    if channels is None or page.samplesperpixel < channels:
        name = getattr(photometric, "name", photometric)
        raise _TiffNeedsPillow(f"TIFF photometric {name}", page.bitspersample > 8)
    samples = _tiff_samples(page)
    icc = page.tags.valueof(34675)
    if photometric == PHOTOMETRIC.PALETTE:
        color = page.colormap.T[samples[..., 0]]
        color = to_uint8(color) if page.bitspersample <= 8 else color
    elif photometric == PHOTOMETRIC.SEPARATED:
        cmyk = _standard_depth(samples[..., :4])
        color, icc = _cmyk_samples_to_rgb(cmyk, icc, page.tags.valueof(332, 1)), None
    else:
        color = _standard_depth(samples[..., :channels])
        color = color[..., 0] if channels == 1 else color
        if photometric == PHOTOMETRIC.MINISWHITE:
            color = np.iinfo(color.dtype).max - color
    extras = list(page.extrasamples)
    alphas = [kind for kind in extras if kind in (EXTRASAMPLE.ASSOCALPHA, EXTRASAMPLE.UNASSALPHA)]
    if not alphas:
        return color, None, icc
    alpha = _with_depth(_standard_depth(samples[..., channels + extras.index(alphas[0])]), color.dtype)
    if alphas[0] == EXTRASAMPLE.ASSOCALPHA:
        color = _unpremultiply(color, alpha)
    return color, alpha, icc


def _with_depth(samples: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """uint8 or uint16 samples brought to `dtype`, the depth of the colour they go with."""
    if samples.dtype == dtype:
        return samples
    return to_uint8(samples) if dtype == np.uint8 else samples.astype(np.uint16) * np.uint16(257)


def _cmyk_samples_to_rgb(cmyk: np.ndarray, icc: bytes | None, ink_set: int) -> np.ndarray:
    """8-bit RGB of CMYK samples (any depth), through the embedded profile when there is one."""
    if ink_set != 1:  # TIFF InkSet 1 is CMYK; 2 names other inks
        raise ImageError("TIFF ink set is not CMYK")
    image = Image.fromarray(to_uint8(cmyk), "CMYK")
    if icc:
        image.info["icc_profile"] = icc
    return np.asarray(_cmyk_to_rgb(image))


def _unpremultiply(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight colour from colour premultiplied by alpha (TIFF associated alpha)."""
    top = np.iinfo(color.dtype).max
    weights = alpha.astype(np.float32)[..., None] if color.ndim == 3 else alpha.astype(np.float32)
    straight = color.astype(np.float32) * top / np.maximum(weights, 1)
    return np.rint(np.clip(straight, 0, top)).astype(color.dtype)


def picture_from_pil(image: Image.Image) -> Picture:
    """Wrap an in-memory PIL image (orientation left as it is: the caller owns the pixels' layout)."""
    try:
        key = _colour_key(image)
        image.load()
        color, alpha = _arrays_from_pil(image, key)
    except Exception as exc:  # whatever the image's plugin raises
        raise ImageError(f"cannot read PIL image: {one_line(exc)}") from None
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


# --- encoding -------------------------------------------------------------------------------------------


def declares_alpha(path: Path) -> bool:
    """Whether an image file's header declares transparency (an alpha channel, a transparent colour or a
    TIFF alpha sample), read without decoding pixels and without opening anything but a regular file."""
    try:
        if not_a_regular_file(path):
            return False  # loading it reports why
        if _is_tiff(path):
            import tifffile
            from tifffile import EXTRASAMPLE

            with tifffile.TiffFile(path) as tif:
                extras = tif.pages[0].extrasamples if tif.pages else ()
                return any(kind in (EXTRASAMPLE.ASSOCALPHA, EXTRASAMPLE.UNASSALPHA) for kind in extras)
        with Image.open(path) as image:
            return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    except Exception:  # unreadable: decoding it later reports why
        return False


def format_for_suffix(suffix: str) -> str:
    """Pillow format name for an output suffix such as '.jpg'."""
    try:
        return FORMATS[suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ImageError(f"unsupported output type {suffix!r} (use one of {known})") from None


def _marked_exif(exif: bytes | None) -> bytes:
    """The picture's EXIF with colorplug as its Software: how a rerun recognises its own outputs (see
    provenance.py). Loading keeps MARK_ROOM free below the 64 KB of a JPEG segment, so the mark fits."""
    data = Image.Exif()
    if exif:
        data.load(exif)
    data[SOFTWARE_TAG] = SOFTWARE
    return data.tobytes()


def save_picture(picture: Picture, path: str | Path, quality: int = 95) -> None:
    """Write a Picture atomically in the format its suffix names, 16-bit where the format allows."""
    path = Path(path)
    fmt = format_for_suffix(path.suffix)
    if picture.alpha is not None and fmt not in ALPHA_FORMATS:
        raise ImageError(f"{fmt} cannot store the alpha channel; write .png, .tif or .webp instead")
    picture = replace(picture, exif=_marked_exif(picture.exif))
    try:
        with atomic_path(path) as temp:
            if fmt == "TIFF":
                _save_tiff(picture, temp)
            elif fmt in SIXTEEN_BIT_FORMATS and picture.color.dtype == np.uint16:  # PNG
                temp.write_bytes(encode_png16(picture_to_array(picture), picture.icc_profile, picture.exif))
            else:
                _save_8bit(picture, temp, fmt, quality)
    except OSError as exc:
        raise ImageError(f"cannot write {display_path(path)}: {exc.strerror or one_line(exc)}") from None


def _save_tiff(picture: Picture, temp: Path) -> None:
    """A deflate-compressed TIFF (8 or 16 bits) with ICC profile and EXIF, by tifffile: the Exif and GPS
    IFDs, which tifffile cannot write, are appended afterwards and pointed at from the first IFD."""
    import tifffile

    samples = picture_to_array(picture)
    tree = {}
    if picture.exif:
        exif = Image.Exif()
        exif.load(picture.exif)
        tree, _ = _exif_tree(exif)
    sub_ifds = {group: tree[group] for group in (EXIF_IFD, GPS_IFD) if group in tree}
    tags = {tag: value for tag, value in tree.items() if tag in DESCRIPTIVE_TAGS}
    tifffile.imwrite(
        temp,
        samples if samples.shape[2] > 1 else samples[..., 0],
        photometric="minisblack" if picture.is_gray else "rgb",
        extrasamples=["unassalpha"] if picture.alpha is not None else None,
        iccprofile=picture.icc_profile,
        compression="zlib",
        metadata=None,
        software=False,
        byteorder="<",
        bigtiff=False,
        **_tifffile_resolution(tags),
        extratags=[_tifffile_tag(tag, value) for tag, value in tags.items() if tag not in _RESOLUTION_TAGS]
        + [(_POINTER_STAND_INS[group], 4, 1, 0, True) for group in sub_ifds],
    )
    if sub_ifds:
        _append_sub_ifds(temp, sub_ifds)


def _tifffile_resolution(tree: dict[int, Any]) -> dict[str, Any]:
    """tifffile's resolution arguments from EXIF's, or none when they are missing or not positive numbers
    (a 0/0 rational from a scanner must not stop the photo)."""
    if 0x011A not in tree or 0x011B not in tree:
        return {}
    if not all(math.isfinite(float(tree[tag])) and float(tree[tag]) > 0 for tag in (0x011A, 0x011B)):
        return {}
    unit = {"resolutionunit": tree[0x0128]} if tree.get(0x0128) in (1, 2, 3) else {}
    return {"resolution": (float(tree[0x011A]), float(tree[0x011B])), **unit}


def _tifffile_tag(tag: int, value: Any) -> tuple[int, int, None, bytes, bool]:
    """A tifffile extratag holding the value exactly as Pillow writes it in EXIF (type and packed bytes)."""
    directory = TiffImagePlugin.ImageFileDirectory_v2()  # little-endian, as the TIFF is written
    directory[tag] = value
    written = directory.tobytes()  # count, then one 12-byte entry, then the value if over 4 bytes
    kind, count, inline = struct.unpack_from("<HL4s", written, 4)
    size = count * struct.calcsize("<" + _TIFF_ITEM_FORMATS[kind])
    data = inline[:size] if size <= 4 else written[struct.unpack("<L", inline)[0] :][:size]
    return tag, kind, None, data, True


def _append_sub_ifds(path: Path, sub_ifds: dict[int, dict[int, Any]]) -> None:
    """Write each Exif/GPS IFD at the end of a TIFF; make its stand-in entry in IFD0 the pointer to it."""
    import tifffile

    with open(path, "r+b") as handle:
        with tifffile.TiffFile(handle) as tif:
            stand_ins = {group: tif.pages[0].tags[_POINTER_STAND_INS[group]] for group in sub_ifds}
            entries_at = {group: (tag.offset, tag.valueoffset) for group, tag in stand_ins.items()}
        for group, entries in sub_ifds.items():
            directory = TiffImagePlugin.ImageFileDirectory_v2(group=group)
            for tag, value in entries.items():
                directory[tag] = value
            end = handle.seek(0, os.SEEK_END)
            start = end + end % 2  # IFDs begin on a word boundary
            handle.write(b"\x00" * (start - end) + directory.tobytes(start))
            entry, value_at = entries_at[group]
            handle.seek(entry)
            handle.write(struct.pack("<H", group))
            handle.seek(value_at)
            handle.write(struct.pack("<L", start))


def _save_8bit(picture: Picture, temp: Path, fmt: str, quality: int) -> None:
    """JPEG, PNG and WebP (8 bits a sample) through Pillow."""
    image = picture_to_pil(picture)
    options: dict = {}
    if picture.icc_profile:
        options["icc_profile"] = picture.icc_profile
    if picture.exif and fmt in EXIF_FORMATS:
        options["exif"] = picture.exif
    if fmt == "JPEG":
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        options.update(quality=quality)
    image.save(temp, format=fmt, **options)


def replace_color(picture: Picture, color: np.ndarray) -> Picture:
    """The same picture (alpha, profile, metadata) with new colour samples."""
    return replace(picture, color=color, notes=list(picture.notes))
