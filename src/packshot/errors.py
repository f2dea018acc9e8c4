"""Errors that name the file, argument or field at fault."""

from __future__ import annotations

from pathlib import Path


class PackshotError(Exception):
    """Base class for every error packshot raises on purpose."""


class PackshotWarning(UserWarning):
    """Something the user should know that does not stop the work (e.g. only the first frame of an
    animated GIF is used). The CLI prints these as ``warning <message>``."""


class InputError(PackshotError, ValueError):
    """Bad input: names the file (or argument) and the problem.

    Parameters
    ----------
    source : str or Path or None
        The file, argument or field at fault.
    problem : str
        What is wrong, in words a user can act on.
    """

    def __init__(self, source: str | Path | None, problem: str):
        self.source = str(source) if source is not None else None
        self.problem = problem
        super().__init__(f"{self.source}: {problem}" if self.source else problem)


class ImageLoadError(InputError):
    """An image file could not be read (not an image, truncated, unsupported mode...)."""


class ImageTooLargeError(ImageLoadError):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class EmptyProductError(InputError):
    """No product pixels were found (an all-background mask or an empty cut-out)."""


class MissingExtraError(PackshotError, ImportError):
    """A dependency is missing; the message names the extra to install (an extra declared in
    pyproject.toml), or, for a dependency of the default install (``extra=None``), says so."""

    def __init__(self, module: str, extra: str | None, purpose: str = ""):
        self.module = module
        self.extra = extra
        what = f" for {purpose}" if purpose else ""
        if extra is None:
            message = (f"the module '{module}' is needed{what}; it is part of packshot's default install: "
                       f"reinstall packshot (pip install --force-reinstall packshot)")
        else:
            message = f"the optional module '{module}' is needed{what}: install it with pip install 'packshot[{extra}]'"
        super().__init__(message)


def require(module: str, extra: str | None, purpose: str = ""):
    """Import and return an optional module, or raise :class:`MissingExtraError` naming ``extra``
    (None: a dependency of the default install)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(module, extra, purpose) from exc
