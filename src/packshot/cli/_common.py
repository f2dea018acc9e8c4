"""Helpers shared by CLI subcommands: input expansion, per-input failure reporting, progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import PackshotError
from ..imaging import SUPPORTED_SUFFIXES

# soft_wrap: an error message naming a long path is never cut or elided
err_console = Console(stderr=True, soft_wrap=True)


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
                work(item)
                result.done.append(item)
            except (PackshotError, ValueError, OSError) as exc:
                result.failed.append((item, str(exc)))
                # packshot's input errors already start with the file they name
                message = str(exc) if str(exc).startswith(str(item)) else f"{item}: {exc}"
                err_console.print(f"[red]failed[/red] {escape(message)}")
            except Exception as exc:  # an unexpected bug: report it with its type, keep going
                result.failed.append((item, f"{type(exc).__name__}: {exc}"))
                err_console.print(f"[red]failed[/red] {escape(str(item))}: {type(exc).__name__}: {escape(str(exc))}")
            progress.advance(task)
    if result.failed:
        err_console.print(f"{len(result.failed)} of {len(items)} failed")
    return result
