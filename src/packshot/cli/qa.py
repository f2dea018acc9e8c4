"""``packshot qa``: check rendered frames against their cut-out and master artwork.

    packshot qa FRAME_DIR [--master DIR] [--fail-on fail|review] [--no-overlay]

Finds every frame sidecar written by ``packshot render`` under FRAME_DIR (``<variant>.json`` beside
``<variant>.png``), warps the cut-out it names into the frame and runs :func:`packshot.qa.qa`.
Master artwork per SKU comes from ``--master DIR`` (``<sku>.png``, ``<sku>_master.png`` or any image
whose stem is the SKU); a SKU without one is checked against its cut-out's text, with a warning.

Writes, atomically, next to each frame: ``<variant>_qa.json`` (verdict, every check with its value
and thresholds, OCR tokens, provenance) and ``<variant>_qa_overlay.png``. Prints a summary table.

Exit code: 0 when no frame fails; 1 when any frame fails QA (or, with ``--fail-on review``, needs
review) or could not be checked (missing cut-out, unreadable frame, ...); 2 when FRAME_DIR does not
exist or holds no frame sidecars, or the ``--master`` folder does not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import escape, print_error, print_warning, run_batch


def register(app: typer.Typer) -> None:
    @app.command("qa")
    def qa_command(
        frame_dir: Path = typer.Argument(..., help="Folder of rendered frames (searched recursively), or one sidecar JSON."),
        master: Optional[Path] = typer.Option(None, "--master", "-m",
                                              help="Folder of approved master artwork, one image per SKU."),
        fail_on: str = typer.Option("fail", "--fail-on", help="Lowest verdict that makes the exit code non-zero: fail or review."),
        overlay: bool = typer.Option(True, "--overlay/--no-overlay", help="Write <variant>_qa_overlay.png."),
    ) -> None:
        """Check frames: silhouette, colour, label text and print geometry against the cut-out (and master).

        Writes <variant>_qa.json and <variant>_qa_overlay.png beside each frame. Exit code: 0 when no
        frame fails; 1 when a frame fails (or needs review, with --fail-on review) or cannot be checked;
        2 when FRAME_DIR or --master is not usable.
        """
        from rich.console import Console
        from rich.table import Table

        from ..errors import InputError
        from ..imaging import load_image
        from ..qa import QAConfig
        from ..qa.frames import check_frame_file, find_master, find_sidecars
        from ..render.io import read_sidecar

        if fail_on not in ("fail", "review"):
            raise typer.BadParameter(f"--fail-on must be 'fail' or 'review', got {fail_on!r}")
        if master is not None and not master.is_dir():
            print_error("error", f"{master}: master folder does not exist")
            raise typer.Exit(2)
        try:
            sidecars = find_sidecars(frame_dir)
        except InputError as exc:
            print_error("error", str(exc))
            raise typer.Exit(2)
        if not sidecars:
            print_error("error", f"{frame_dir}: no frame sidecars (<variant>.json) found")
            raise typer.Exit(2)

        config = QAConfig()
        masters: dict[str, object] = {}
        rows: list[tuple[str, str, str, str, str]] = []

        def master_for(sku: str):
            if sku not in masters:
                path = find_master(master, sku) if master is not None else None
                if master is not None and path is None:
                    print_warning(f"no master artwork for SKU {sku!r} in {master}: "
                                  f"label text is compared with the cut-out")
                masters[sku] = (path, load_image(path).rgb if path is not None else None)
            return masters[sku]

        def check(sidecar: Path) -> None:
            inputs_sku = read_sidecar(sidecar).get("sku", "")
            master_path, artwork = master_for(str(inputs_sku))
            report, inputs = check_frame_file(sidecar, artwork, config, overlay=overlay, master_path=master_path)
            first = report.reasons[0] if report.reasons else ""
            rows.append((inputs.sku, inputs.scene, inputs.variant, report.verdict, first))

        result = run_batch(sidecars, check, label="qa")
        table = Table(title=f"qa: {len(sidecars)} frame(s)")
        for col in ("sku", "scene", "variant", "verdict", "first reason"):
            table.add_column(col, overflow="fold")
        colours = {"pass": "green", "review": "yellow", "fail": "red"}
        for sku, scene, variant, verdict, reason in rows:
            table.add_row(escape(str(sku)), escape(str(scene)), escape(str(variant)), f"[{colours[verdict]}]{verdict}[/]", escape(reason))
        for path, why in result.failed:
            table.add_row("?", "", escape(str(path)), "[red]error[/]", escape(why))
        Console(width=160).print(table)
        bad = {"fail"} if fail_on == "fail" else {"fail", "review"}
        failing = sum(r[3] in bad for r in rows)
        typer.echo(f"{sum(r[3] == 'pass' for r in rows)} pass, {sum(r[3] == 'review' for r in rows)} review, "
                   f"{sum(r[3] == 'fail' for r in rows)} fail, {len(result.failed)} error(s)")
        if failing or result.failed:
            raise typer.Exit(1)
