"""``packshot serve``: the HTTP API (``/v1``: cutout, inspect, render, check, jobs; ``/docs``, ``/healthz``,
``/metrics``). Binds to 127.0.0.1 unless told otherwise; off loopback a bearer token is required.

With ``--json``, one JSON object on stdout when the server listens (models loaded): ``{"event": "ready",
"url", "host", "port", "auth", "token_file", "token_source", "docs", "segmenter", "work_dir"}`` (the
token itself is never printed; ``--port 0`` picks a free port and the object names it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import Json, Quiet, SegmenterAlias, deprecated_alias, max_pixels_option, segmenter_option, set_output
from ._web import HOST_HELP, PORT_HELP


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_command(
        host: str = typer.Option("127.0.0.1", "--host", help=HOST_HELP),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help=PORT_HELP),
        token_file: Optional[Path] = typer.Option(None, "--token-file", help="File whose first line is the bearer token."),
        workers: int = typer.Option(2, "--workers", "-w", min=1, help="Requests processed at once."),
        queue: int = typer.Option(8, "--queue", help="Requests that may wait; the next gets 429 with Retry-After."),
        segmenter: Annotated[str, segmenter_option("Segment backend, loaded once at start-up (see `packshot "
                                                   "backends`).")] = "auto",
        backend: SegmenterAlias = None,
        work_dir: Path = typer.Option(Path("packshot-serve"), "--work-dir", help="Folder for /v1/jobs runs."),
        max_upload_mb: float = typer.Option(32.0, "--max-upload-mb", help="Largest request body (MiB): more is 413."),
        max_pixels: int = max_pixels_option("Largest image (pixels): more is 413", default=40_000_000),
        timeout: float = typer.Option(120.0, "--timeout", help="Longest processing of a request (s): more is 408."),
        as_json: Json = False,
        quiet: Quiet = False,
    ) -> None:
        """Serve the HTTP API (OpenAPI docs at /docs)."""
        from ._web import run_server, settings_or_exit

        set_output(as_json, quiet)
        settings = settings_or_exit(host=host, token_file=token_file, max_upload_mb=max_upload_mb,
                                    max_pixels=max_pixels, timeout=timeout, workers=workers, queue=queue,
                                    segment_backend=deprecated_alias(segmenter, backend), work_dir=work_dir)
        run_server(settings, port, "packshot API", token_file=token_file,
                   details={"segmenter": settings.segment_backend, "work_dir": str(work_dir)})
