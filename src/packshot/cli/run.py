"""``packshot run``: every stage for each photo, each scene, variant and size of a brief."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from ._common import err_console, expand_inputs, run_batch


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_command(
        photos: List[Path] = typer.Argument(..., help="Product photos (files or folders)."),
        brief: Path = typer.Option(..., "--brief", "-b", help="Creative brief (YAML)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder: <out>/<sku>/<scene>/<variant>.png"),
        backend: str = typer.Option("auto", "--backend", help="Segment backend."),
        renderer: str = typer.Option("studio", "--renderer", help="Renderer for scenes without a plate."),
        no_relight: bool = typer.Option(False, "--no-relight", help="Skip shadows, reflection and relight."),
        relight_model: str = typer.Option("", "--relight-model",
                                          help="Also relight the product with a model: iclight:FOLDER (extra: diffusion)."),
        force: bool = typer.Option(False, "--force", help="Render frames again even when up to date."),
        qa: bool = typer.Option(False, "--qa", help="Run the fidelity checks and write qa.json per frame."),
        max_pixels: int = typer.Option(100_000_000, "--max-pixels", help="Pixel limit for input photos."),
    ) -> None:
        """Cut out, inspect, condition, render and relight each photo (one SKU per photo)."""
        from ..condition import load_brief
        from ..pipeline import RunConfig, process_photo

        try:
            parsed = load_brief(brief)
        except (ValueError, OSError) as exc:
            err_console.print(f"[red]brief error[/red] {exc}")
            raise typer.Exit(2)
        if relight_model:
            from ..relight.model import RELIGHTERS

            if relight_model not in RELIGHTERS or ":" not in relight_model:
                err_console.print(f"[red]error[/red] --relight-model '{relight_model}': use one of "
                                  f"{', '.join(RELIGHTERS.names())}")
                raise typer.Exit(2)
        config = RunConfig(segment_backend=backend, render_backend=renderer, relight=not no_relight,
                           relight_model=relight_model or None,
                           resume=not force, qa=qa, max_pixels=max_pixels)
        written: list[Path] = []

        def work(photo: Path) -> None:
            result = process_photo(photo, parsed, out, config=config)
            written.extend(result.frames)
            flags = f" flags: {', '.join(result.flags)}" if result.flags else ""
            err_console.print(f"{result.sku}: {len(result.frames)} frames written, "
                              f"{len(result.skipped)} up to date{flags}")

        items = expand_inputs(photos)
        if not items:
            err_console.print(f"[red]error[/red] no input images in {', '.join(map(str, photos))}")
            raise typer.Exit(2)
        result = run_batch(items, work, label="run")
        raise typer.Exit(result.exit_code)
