"""The `colorplug` command line: a thin click layer over the engine's API; each command parses its options
and hands off (run.py, evaluate.py, train.py, weights.py, gimp.py).

Exit status: 0 all done, 1 some file failed, 2 usage error (bad option, unknown weights...). This group is
the one place where errors become one line. Heavy modules (torch) are imported inside the commands that
need them, so `--help` starts fast.
"""

from __future__ import annotations

import os
import sys
import warnings

import click
from colorplug_cli.evaluate import evaluate
from colorplug_cli.gimp import gimp
from colorplug_cli.messages import say
from colorplug_cli.run import run
from colorplug_cli.suggest import suggest
from colorplug_cli.train import train
from colorplug_cli.weights import weights

from colorplug.errors import ColorplugError
from colorplug.io.files import Terminated, stop_cleanly_on_sigterm
from colorplug.version import __version__


class CLIError(click.ClickException):
    """An engine error shown as one line, `colorplug: error: ...`, with exit status 2 (usage)."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"colorplug: error: {self.format_message()}", err=True)


class ColorplugGroup(click.Group):
    """The command group; the one place where engine errors, usage errors and Ctrl-C become one line."""

    def main(self, *args, **kwargs):
        """click's own usage errors as one line (click prints the usage and a hint around them)."""
        stop_cleanly_on_sigterm()  # SIGTERM cleans up like Ctrl-C: no temporary or partial file left
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            click.echo(f"colorplug: error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("colorplug: interrupted", err=True)
            sys.exit(130)

    def invoke(self, ctx: click.Context):
        """Run the command; an engine error is worded with the command's own options (--max-pixels)."""
        try:
            return super().invoke(ctx)
        except ColorplugError as exc:
            command = self.get_command(ctx, ctx.invoked_subcommand) if ctx.invoked_subcommand else None
            raise CLIError(say(exc, command)) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated): files are cleaned up by now
            stopped = isinstance(exc, Terminated)
            click.echo(f"colorplug: {'terminated' if stopped else 'interrupted'}", err=True)
            sys.exit(143 if stopped else 130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line, the traceback only on request
            if os.environ.get("COLORPLUG_DEBUG"):
                raise
            click.echo(
                f"colorplug: internal error: {say(exc, None, with_type=True)} "
                "(COLORPLUG_DEBUG=1 shows the traceback)",
                err=True,
            )
            sys.exit(1)


@click.group(cls=ColorplugGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="colorplug")
def main() -> None:
    """Colorize grayscale photos automatically (CIE LAB, a deep convolutional network).

    \b
    Example:
      colorplug run old_photos/ -o colorized/
    """
    # Pillow warns and logs about oddities it recovers from or refuses (corrupt EXIF, a TIFF of twenty
    # bands...); real problems reach the user as the one-line errors of each file, so its warnings and
    # log records would only be noise among them.
    import logging  # here: `--help` does not run this, and logging costs start-up time

    warnings.filterwarnings("ignore", module="PIL")
    logging.getLogger("PIL").addHandler(logging.NullHandler())


for command in (run, suggest, evaluate, train, weights, gimp):
    main.add_command(command)


if __name__ == "__main__":
    main()
