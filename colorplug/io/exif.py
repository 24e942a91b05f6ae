"""EXIF: read as a tree (IFD0's tags, the Exif and GPS IFDs as dicts), carried only where every format can.

Only descriptive EXIF is carried (camera, date, exposure, GPS...), sized and typed so that every output
format can hold it; the orientation is applied to the pixels instead, and every output is marked with
colorplug as its Software (see provenance.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import ExifTags, Image, TiffImagePlugin

from colorplug.errors import one_line
from colorplug.io.picture import Picture
from colorplug.io.provenance import SOFTWARE, SOFTWARE_TAG

ORIENTATION_TAG = 0x0112
# EXIF lives in one JPEG APP1 segment (65535 bytes less the length field), its "Exif" header included.
EXIF_LIMIT = 65533
XMP_NOTE = "XMP metadata: not carried (colorplug carries the ICC profile and EXIF)"
MARK_ROOM = 64  # bytes kept free below EXIF_LIMIT for the Software tag that marks colorplug's outputs
EXIF_IFD, GPS_IFD, INTEROP_IFD = 0x8769, 0x8825, 0xA005
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


def _tag_name(group: int | None, tag: int) -> str:
    names = ExifTags.GPSTAGS if group == GPS_IFD else ExifTags.TAGS
    return names.get(tag, f"0x{tag:04X}")


def exif_tree(exif: Image.Exif) -> tuple[dict[int, Any], list[str]]:
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


def picture_with_metadata(
    color: np.ndarray, alpha: np.ndarray | None, icc: bytes | None, tree: dict[int, Any], notes: list[str]
) -> Picture:
    """A Picture with the orientation the metadata still asks for applied and its EXIF made portable."""
    orientation = _orientation(tree)
    exif, exif_notes = _portable_exif(tree)
    return Picture(
        color=apply_orientation(color, orientation),
        alpha=apply_orientation(alpha, orientation),
        icc_profile=icc if color.ndim == 3 else None,  # a gray profile cannot describe a colour result
        exif=exif,
        notes=notes + exif_notes,
    )


def pillow_exif_tree(image: Image.Image) -> tuple[dict[int, Any], list[str]]:
    """The EXIF tree of an opened Pillow image, and notes (corrupt EXIF must not stop a readable photo)."""
    try:
        return exif_tree(image.getexif())
    except Exception as exc:  # Pillow raises many types for corrupt EXIF
        return {}, [f"EXIF unreadable ({one_line(exc)}): not carried"]


def apply_orientation(samples: np.ndarray | None, orientation: int) -> np.ndarray | None:
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


def marked_exif(exif: bytes | None) -> bytes:
    """The picture's EXIF with colorplug as its Software: how a rerun recognises its own outputs (see
    provenance.py). Loading keeps MARK_ROOM free below the 64 KB of a JPEG segment, so the mark fits."""
    data = Image.Exif()
    if exif:
        data.load(exif)
    data[SOFTWARE_TAG] = SOFTWARE
    return data.tobytes()
