"""Helpers shared by CLI subcommands: input expansion, per-input failure reporting, progress."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..errors import PackshotError, PackshotWarning
from ..imaging import DEFAULT_MAX_PIXELS, MAX_PIXELS_CEILING, SUPPORTED_SUFFIXES, check_max_pixels

# soft_wrap: an error message naming a long path is never cut or elided.
# Messages hold file names, user text and brackets ("[width, height]") that Rich would read as
# markup and swallow: print them with print_error / print_warning (label styled, message
# verbatim), or escape() them; never interpolate a message into a markup string.
err_console = Console(stderr=True, soft_wrap=True)

__all__ = ["BatchResult", "err_console", "escape", "expand_inputs", "max_pixels_option", "print_error",
           "print_info", "print_warning", "run_batch"]


def print_error(label: str, message: str, style: str = "red") -> None:
    """Print ``label message`` to stderr, the label styled; the message is printed as it is (never
    read as Rich markup, so "[width, height]" or a file called "[red].png" shows verbatim)."""
    err_console.print(Text.assemble((label, style), " ", str(message)))


def print_info(message: str) -> None:
    """Print ``message`` to stderr verbatim (no markup)."""
    err_console.print(Text(str(message)))


def print_warning(message: str) -> None:
    """Print ``warning message`` to stderr (the message verbatim)."""
    print_error("warning", message, style="yellow")


def _max_pixels_callback(value: int) -> int:
    try:
        return check_max_pixels(value, "--max-pixels")
    except ValueError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--max-pixels: "), param_hint="--max-pixels") from None


def max_pixels_option(help_text: str = "Pixel limit for input photos (decompression-bomb guard)"):
    """The ``--max-pixels`` option shared by every command that reads photos: 1 .. the ceiling."""
    return typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", callback=_max_pixels_callback,
                        help=f"{help_text}; at most {MAX_PIXELS_CEILING} ({MAX_PIXELS_CEILING // 1_000_000} MP).")


def expand_inputs(inputs: Sequence[Path]) -> list[Path]:
    """Files as given; folders expand to the image files inside them (sorted, not recursive)."""
    out: list[Path] = []
    for p in inputs:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in SUPPORTED_SUFFIXES))
        else:
            out.append(p)
    return out


@dataclass
class BatchResult:
    done: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def run_batch(items: Iterable[Path], work: Callable[[Path], None], label: str = "working",
              show_progress: bool | None = None) -> BatchResult:
    """Run ``work`` on each item; a failure is reported with its reason and the rest go on.

    Errors packshot raises on purpose are reported by their message; anything else by its
    type and message (never swallowed silently): the exit code is non-zero when any failed.
    """
    items = list(items)
    result = BatchResult()
    # a live progress bar only on a terminal: in logs it would crop the failure lines
    show = (len(items) > 1 and err_console.is_terminal) if show_progress is None else show_progress
    progress = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[name]}"), console=err_console, disable=not show, transient=False)
    with progress:
        task = progress.add_task(label, total=len(items), name="")
        for item in items:
            progress.update(task, name=Path(item).name)
            try:
                with _warnings_shown():
                    work(item)
                result.done.append(item)
            except (PackshotError, ValueError, OSError) as exc:
                result.failed.append((item, str(exc)))
                # packshot's input errors already start with the file they name
                message = str(exc) if str(exc).startswith(str(item)) else f"{item}: {exc}"
                print_error("failed", message)
            except Exception as exc:  # an unexpected bug: report it with its type, keep going
                result.failed.append((item, f"{type(exc).__name__}: {exc}"))
                print_error("failed", f"{item}: {type(exc).__name__}: {exc}")
            progress.advance(task)
    if result.failed:
        err_console.print(f"{len(result.failed)} of {len(items)} failed")
    return result


class _warnings_shown:
    """Print every :class:`PackshotWarning` raised while working on one input as ``warning ...``;
    other warnings are passed on to Python's usual handling."""

    def __enter__(self):
        self._ctx = warnings.catch_warnings(record=True)
        self._caught = self._ctx.__enter__()
        warnings.simplefilter("always", PackshotWarning)
        return self

    def __exit__(self, *exc_info):
        self._ctx.__exit__(*exc_info)
        for w in self._caught:
            if issubclass(w.category, PackshotWarning):
                print_warning(str(w.message))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        return False
