"""`colorplug gimp`: install and remove the GIMP 3 plug-in."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def gimp() -> None:
    """Install the GIMP 3 plug-in (Colors > Colorize Photo (colorplug)...).

    \b
    Example:
      colorplug gimp install
    """


@gimp.command(name="install")
@click.option(
    "--profile",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="GIMP 3 profile folder (default: $GIMP3_DIRECTORY or the platform's location).",
)
@click.option("--python", "python", default=None, help="Python that runs the engine (default: this one).")
@click.option(
    "--timeout",
    "timeout_s",
    default=600,
    show_default=True,
    type=click.IntRange(10),
    help="Seconds GIMP waits for one colorization.",
)
def gimp_install(profile, python, timeout_s) -> None:
    """Install the plug-in and record which Python runs the engine.

    \b
    Example:
      colorplug gimp install --profile ~/.config/GIMP/3.0
    """
    from colorplug.gimp.install import install

    target = install(profile, python, timeout_s)
    click.echo(f"installed {target}; restart GIMP, then use Colors > Colorize Photo (colorplug)...")


@gimp.command(name="uninstall")
@click.option("--profile", type=click.Path(file_okay=False, path_type=Path), default=None)
def gimp_uninstall(profile) -> None:
    """Remove the plug-in.

    \b
    Example:
      colorplug gimp uninstall
    """
    from colorplug.gimp.install import uninstall

    target = uninstall(profile)
    click.echo(f"removed {target}" if target else "the plug-in was not installed")
