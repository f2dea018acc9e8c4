"""The ``packshot`` command line.

Each subcommand lives in its own module in this package and exposes ``register(app)``;
modules are discovered here, so adding a command never edits this file. Every command speaks one
grammar: its shared options (``-o/--out``, ``-b/--brief``, ``-s/--segmenter``, ``-r/--renderer``,
``-m/--master``, ``-p/--profile``, ``-q/--quiet``, ``--json``, ``--seed``, ``--max-pixels``), input
expansion and ``--json`` output are defined once, in :mod:`packshot.cli._common`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

app = typer.Typer(
    name="packshot",
    help="AI product photography that keeps the product the product: cut, measure, brief, build, check.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion: options and choices complete
    pretty_exceptions_enable=False,
)


def _load_commands() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_load_commands()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    from ._common import set_output

    set_output()  # each command sets its own --json / --quiet; nothing carries over from a previous call
    if version:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit()


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``packshot ...``. Returns the exit code."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
