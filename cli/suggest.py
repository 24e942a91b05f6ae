"""`colorplug suggest`: the most likely distinct colours of a region of a photo, and where to hint."""

from __future__ import annotations

from pathlib import Path

import click
from colorplug_cli.options import device_option, render_option, weights_option
from colorplug_cli.types import IntsType

from colorplug.defaults import DEFAULT_MAX_PIXELS

DEFAULT_RADIUS = 10


@click.command()
@click.argument("photo", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--region", type=IntsType(4, "X,Y,W,H", sized=True), help="The region: a box in pixels.")
@click.option("--at", "point", type=IntsType(2, "X,Y"), help="The region: the square around a point.")
@click.option(
    "--radius",
    default=DEFAULT_RADIUS,
    show_default=True,
    type=click.IntRange(0),
    help="Half the side of the square around --at, in pixels.",
)
@click.option("--count", default=5, show_default=True, type=click.IntRange(1, 12), help="Colours to offer.")
@click.option(
    "--swatches",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the colours as a strip of swatches (e.g. swatches.png).",
)
@click.option("--where", is_flag=True, help="Also print the places where a colour hint would help most.")
@weights_option
@render_option
@device_option
def suggest(
    photo: Path,
    region: tuple[int, int, int, int] | None,
    point: tuple[int, int] | None,
    radius: int,
    count: int,
    swatches: Path | None,
    where: bool,
    **settings,
) -> None:
    """Print the likely distinct colours of a region of PHOTO (hex, share), the highest peak of the
    colour distribution first (its share counts the colours around it, so shares need not fall).

    \b
    Examples:
      colorplug suggest old.jpg --region 120,80,60,40
      colorplug suggest old.jpg --at 150,100 --radius 20 --swatches coat.png
      colorplug suggest old.jpg --where
    """
    from colorplug.engine.colorizer import Colorizer
    from colorplug.engine.insight import swatch_strip
    from colorplug.io.decode import load_picture
    from colorplug.io.encode import save_picture
    from colorplug.io.picture import Picture

    _check_swatches(swatches, photo)
    picture = load_picture(photo, DEFAULT_MAX_PIXELS)
    box = _box(region, point, radius, picture.height, picture.width)
    offered, places = _answers(Colorizer(**settings), picture, box, count, where)
    _print_suggestions(offered)
    if swatches is not None:
        save_picture(Picture(swatch_strip(offered)), swatches)
    if where:
        _print_places(places)


def _answers(colorizer, picture, box, count: int, where: bool) -> tuple[list, list]:
    """The suggestions and (with --where) the places to hint, the network run once for both."""
    from colorplug.engine.advice import suggest_and_place

    return (
        suggest_and_place(colorizer, picture, box, count)
        if where
        else (colorizer.suggest(picture, box, count), [])
    )


def _print_suggestions(offered: list) -> None:
    """One line per colour: its hex code and its share of the region's distribution."""
    for suggestion in offered:
        click.echo(f"{suggestion.hex}  {suggestion.share:.2f}")


def _print_places(places: list) -> None:
    """One line per place to hint: its centre, the extent of its unsure region and its area."""
    for place in places:
        click.echo(f"hint at {place.x},{place.y} (region {place.width}x{place.height}, {place.area} px)")


def _check_swatches(swatches: Path | None, photo: Path) -> None:
    """Refuse (usage error, before any work) a swatch file of no known format, in no folder, or the photo."""
    from colorplug.io.formats import FORMATS

    if swatches is None:
        return
    if swatches.suffix.lower() not in FORMATS:
        raise click.BadParameter(
            f"give a file name ending in one of {', '.join(sorted(FORMATS))}", param_hint="--swatches"
        )
    if not swatches.resolve().parent.is_dir():
        raise click.BadParameter("its folder does not exist", param_hint="--swatches")
    if swatches.exists() and swatches.resolve() == photo.resolve():
        raise click.BadParameter("is the photo itself: refusing to overwrite it", param_hint="--swatches")


def _box(
    region: tuple[int, int, int, int] | None,
    point: tuple[int, int] | None,
    radius: int,
    height: int,
    width: int,
) -> tuple[int, int, int, int] | None:
    """The box asked for, checked against the photo's size (a usage error when outside it)."""
    if region is not None and point is not None:
        raise click.UsageError("give --region or --at, not both")
    if point is not None:
        x, y = point
        if x >= width or y >= height:
            raise click.BadParameter(f"{x},{y} is outside the {width}x{height} photo", param_hint="--at")
        left, top = max(0, x - radius), max(0, y - radius)
        return left, top, min(width, x + radius + 1) - left, min(height, y + radius + 1) - top
    if region is not None:
        x, y, w, h = region
        if x + w > width or y + h > height:
            raise click.BadParameter(
                f"{x},{y},{w},{h} is not inside the {width}x{height} photo", param_hint="--region"
            )
    return region
