"""``packshot run``: every stage for each photo, each scene, variant and size of a brief."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from ._common import err_console, expand_inputs, max_pixels_option, print_error, run_batch


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_command(
        photos: List[Path] = typer.Argument(..., help="Product photos (files or folders)."),
        brief: Path = typer.Option(..., "--brief", "-b", help="Creative brief (YAML)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder: <out>/<sku>/<scene>/<variant>.png"),
        backend: str = typer.Option("auto", "--backend", help="Segment backend."),
        renderer: str = typer.Option("studio", "--renderer", help="Renderer for scenes without a plate."),
        no_relight: bool = typer.Option(False, "--no-relight", help="Skip shadows, reflection and relight."),
        force: bool = typer.Option(False, "--force", help="Render frames again even when up to date."),
        qa: bool = typer.Option(False, "--qa", help="Run the fidelity checks and write qa.json per frame."),
        max_pixels: int = max_pixels_option(),
        orientation: str = typer.Option("auto", "--orientation", help="Turn the product upright: auto (label text, then shape), keep, 0, 90, 180 or 270 (clockwise)."),
        no_gate: bool = typer.Option(False, "--no-gate", help="Render even a cut-out that fails the plausibility gate."),
    ) -> None:
        """Cut out, inspect, condition, render and relight each photo (one SKU per photo)."""
        from ..condition import load_brief
        from ..pipeline import RunConfig, process_photo

        from ..segment.orientation import ORIENTATION_CHOICES

        if orientation.strip().lower() not in ORIENTATION_CHOICES:
            print_error("error", f"--orientation must be one of {', '.join(ORIENTATION_CHOICES)}, got {orientation!r}")
            raise typer.Exit(2)
        try:
            parsed = load_brief(brief)
        except (ValueError, OSError) as exc:
            print_error("brief error", str(exc))
            raise typer.Exit(2)
        config = RunConfig(segment_backend=backend, render_backend=renderer, relight=not no_relight,
                           resume=not force, qa=qa, max_pixels=max_pixels,
                           orientation=orientation.strip().lower(), gate=not no_gate)
        written: list[Path] = []

        def work(photo: Path) -> None:
            result = process_photo(photo, parsed, out, config=config)
            written.extend(result.frames)
            flags = f" flags: {', '.join(result.flags)}" if result.flags else ""
            err_console.print(f"{result.sku}: {len(result.frames)} frames written, "
                              f"{len(result.skipped)} up to date{flags}")

        items = expand_inputs(photos)
        if not items:
            print_error("error", f"no input images in {', '.join(map(str, photos))}")
            raise typer.Exit(2)
        result = run_batch(items, work, label="run")
        raise typer.Exit(result.exit_code)
