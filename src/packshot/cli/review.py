"""``packshot review DIR``: the review pages over a run folder (queue at ``/``), with the API beside them.
Decisions go to ``DIR/.packshot/review.sqlite`` (see :mod:`packshot.web.store`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import max_pixels_option, print_error
from ._web import HOST_HELP


def register(app: typer.Typer) -> None:
    @app.command("review")
    def review_command(
        run_dir: Path = typer.Argument(..., help="Run folder (<sku>/<scene>/<variant>.png with sidecars)."),
        host: str = typer.Option("127.0.0.1", "--host", help=HOST_HELP),
        port: int = typer.Option(8000, "--port", help="TCP port."),
        token_file: Optional[Path] = typer.Option(None, "--token-file", help="File whose first line is the bearer token."),
        reviewer: Optional[str] = typer.Option(None, "--reviewer", help="Default reviewer name (default: $USER)."),
        max_upload_mb: float = typer.Option(32.0, "--max-upload-mb", help="Largest request body (MiB): more is 413."),
        max_pixels: int = max_pixels_option("Largest image (pixels): more is 413", default=100_000_000),
        timeout: float = typer.Option(120.0, "--timeout", help="Longest processing of a request (s): more is 408."),
    ) -> None:
        """Review the frames of a run: approve, reject with a comment, or ask for a re-render."""
        from ._web import run_server, settings_or_exit

        if not run_dir.is_dir():
            print_error("error", f"{run_dir}: run folder does not exist")
            raise typer.Exit(2)
        settings = settings_or_exit(host=host, token_file=token_file, max_upload_mb=max_upload_mb,
                                    max_pixels=max_pixels, timeout=timeout, review_dir=run_dir,
                                    reviewer=reviewer, preload_models=False)
        run_server(settings, port, f"packshot review of {run_dir}")
