"""``packshot qa``: check rendered frames against their cut-out and master artwork.

    packshot qa FRAME_DIR... [--master DIR] [--fail-on fail|review] [--no-overlay] [--ocr-threads N] [--json]

Finds every frame sidecar written by ``packshot render`` or ``packshot run`` under each FRAME_DIR
(``<variant>.json`` beside ``<variant>.png``), warps the cut-out it names into the frame and runs
:func:`packshot.qa.qa`. Master artwork per SKU comes from ``--master DIR`` (``<sku>.png``, ``<sku>_master.png`` or any image
whose stem is the SKU); a SKU without one is checked against its cut-out's text, with a warning.

Writes, atomically, next to each frame: ``<variant>_qa.json`` (verdict, every check with its value
and thresholds, OCR tokens, provenance) and ``<variant>_qa_overlay.png``. Prints a summary table.

Frames are checked one after another in this process; OCR runs on ``--ocr-threads`` onnxruntime
threads (default 1, as each catalogue worker does: onnxruntime's extra threads spin while they
wait: on a shared 2-core machine two took 1.8x the CPU and twice the wall time of one; 0: onnxruntime's
default, one per core). The readings, and so the verdicts, are the same with any count.

Exit code: 0 when no frame fails; 1 when any frame fails QA (or, with ``--fail-on review``, needs
review) or could not be checked (missing cut-out, unreadable frame, ...); 2 when FRAME_DIR does not
exist or holds no frame sidecars, or the ``--master`` folder does not exist. With ``--json``, one
JSON object per frame on stdout (verdict, reasons) instead of the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer

from ..imaging import DEFAULT_MAX_PIXELS
from ._common import (FailOn, Json, Master, MaxPixels, Quiet, escape, json_mode, print_error, print_info,
                      print_warning, run_batch, set_output)

if TYPE_CHECKING:
    from ..qa import QAConfig
    from ._common import BatchResult


_TABLE_WIDTH = 160
"""Characters per line of the summary table (wide enough for SKU, scene, variant and a reason)."""

_VERDICT_COLOURS = {"pass": "green", "review": "yellow", "fail": "red"}
"""Rich colour of each verdict in the summary table."""

_TABLE_COLUMNS = ("sku", "scene", "variant", "verdict", "first reason")
"""Columns of the summary table, one row per checked frame (plus one per frame that could not be checked)."""


def register(app: typer.Typer) -> None:
    app.command("qa")(qa_command)


def qa_command(
    frame_dirs: Annotated[List[Path], typer.Argument(help="Folders of rendered frames (searched recursively), "
                                                          "or frame sidecar JSON files.")],
    master: Master = None,
    fail_on: FailOn = FailOn.fail,
    overlay: bool = typer.Option(True, "--overlay/--no-overlay", help="Write <variant>_qa_overlay.png."),
    max_pixels: MaxPixels = DEFAULT_MAX_PIXELS,
    ocr_threads: int = typer.Option(1, "--ocr-threads", min=0,
                                    help="onnxruntime threads of the OCR engine (0: one per core). The "
                                         "verdicts are the same with any count."),
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Check frames: silhouette, colour, label text and print geometry against the cut-out (and master).

    Writes <variant>_qa.json and <variant>_qa_overlay.png beside each frame. Exit code: 0 when no
    frame fails; 1 when a frame fails (or needs review, with --fail-on review) or cannot be checked;
    2 when FRAME_DIR or --master is not usable.
    """
    from ..ops.ocr import set_threads
    from ..qa import QAConfig

    set_output(as_json, quiet)
    set_threads(ocr_threads)
    if master is not None and not master.is_dir():
        print_error("error", f"{master}: master folder does not exist")
        raise typer.Exit(2)
    sidecars = _find_all_sidecars(frame_dirs)
    job = _QAJob(master=master, config=QAConfig(), overlay=overlay, max_pixels=max_pixels)
    result = run_batch(sidecars, job, label="qa")
    _report(job.rows, result, len(sidecars), fail_on)


def _find_all_sidecars(frame_dirs: List[Path]) -> list[Path]:
    """The frame sidecars under every FRAME_DIR, each once; a folder that does not exist or holds
    none exits 2."""
    from ..errors import InputError
    from ..qa.frames import find_sidecars

    sidecars: list[Path] = []
    for frame_dir in frame_dirs:
        try:
            found = find_sidecars(frame_dir)
        except InputError as exc:
            print_error("error", str(exc))
            raise typer.Exit(2)
        if not found:
            print_error("error", f"{frame_dir}: no frame sidecars (<variant>.json) found")
            raise typer.Exit(2)
        sidecars.extend(p for p in found if p not in sidecars)
    return sidecars


@dataclass
class _QAJob:
    """Check one frame sidecar: the batch's work function (``run_batch`` calls it per sidecar).

    ``masters`` caches each SKU's master artwork (path, linear RGB), so it is found, warned about and
    loaded once; ``rows`` collects one summary-table row per checked frame.
    """

    master: Optional[Path]
    config: QAConfig
    overlay: bool
    max_pixels: int
    masters: dict[str, tuple] = field(default_factory=dict)
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def __call__(self, sidecar: Path) -> dict:
        from ..qa.frames import check_frame_file
        from ..render.io import read_sidecar

        inputs_sku = read_sidecar(sidecar).get("sku", "")
        master_path, artwork = self._master_for(str(inputs_sku))
        report, inputs = check_frame_file(sidecar, artwork, self.config, overlay=self.overlay,
                                          master_path=master_path, max_pixels=self.max_pixels)
        first = report.reasons[0] if report.reasons else ""
        self.rows.append((inputs.sku, inputs.scene, inputs.variant, report.verdict, first))
        return {"sku": inputs.sku, "scene": inputs.scene, "variant": inputs.variant, "verdict": report.verdict,
                "reasons": list(report.reasons), "master": str(master_path) if master_path else None}

    def _master_for(self, sku: str) -> tuple:
        """(path, artwork) of the SKU's master, (None, None) without one (warned once per SKU)."""
        from ..imaging import load_image
        from ..qa.frames import find_master

        if sku not in self.masters:
            path = find_master(self.master, sku) if self.master is not None else None
            if self.master is not None and path is None:
                print_warning(f"no master artwork for SKU {sku!r} in {self.master}: "
                              f"label text is compared with the cut-out")
            self.masters[sku] = (path, load_image(path).rgb if path is not None else None)
        return self.masters[sku]


def _report(rows: list[tuple[str, str, str, str, str]], result: BatchResult, frames: int, fail_on: FailOn) -> None:
    """Print the summary (with the table unless --json) and exit: 1 when a frame fails (or needs
    review, with --fail-on review) or could not be checked."""
    from rich.console import Console
    from rich.table import Table

    bad = {"fail"} if fail_on is FailOn.fail else {"fail", "review"}
    failing = sum(r[3] in bad for r in rows)
    summary = (f"{sum(r[3] == 'pass' for r in rows)} pass, {sum(r[3] == 'review' for r in rows)} review, "
               f"{sum(r[3] == 'fail' for r in rows)} fail, {len(result.failed)} error(s)")
    if json_mode():
        print_info(summary)
        raise typer.Exit(1 if failing or result.failed else 0)
    table = Table(title=f"qa: {frames} frame(s)")
    for col in _TABLE_COLUMNS:
        table.add_column(col, overflow="fold")
    for sku, scene, variant, verdict, reason in rows:
        table.add_row(escape(str(sku)), escape(str(scene)), escape(str(variant)),
                      f"[{_VERDICT_COLOURS[verdict]}]{verdict}[/]", escape(reason))
    for path, why in result.failed:
        table.add_row("?", "", escape(str(path)), "[red]error[/]", escape(why))
    Console(width=_TABLE_WIDTH).print(table)
    typer.echo(summary)
    if failing or result.failed:
        raise typer.Exit(1)
