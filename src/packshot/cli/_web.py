"""What ``packshot serve`` and ``packshot review`` share: limits, the token, and running uvicorn."""

from __future__ import annotations

import typer

from ._common import print_error, print_info


def settings_or_exit(**kwargs):
    """AppSettings from CLI options; an unsafe binding (no token off loopback) exits 2 with the reason."""
    from ..errors import require

    require("fastapi", "web", "the review app and the HTTP API")
    require("uvicorn", "web", "the review app and the HTTP API")
    from ..web.app import AppSettings
    from ..web.security import ConfigError, Limits, resolve_token

    host = kwargs["host"]
    try:
        token = resolve_token(host, token_file=kwargs.pop("token_file"))
    except ConfigError as exc:
        print_error("error", f"{exc}")
        raise typer.Exit(2)
    limits = Limits(max_body_bytes=int(kwargs.pop("max_upload_mb") * 1024 * 1024),
                    max_pixels=kwargs.pop("max_pixels"), max_seconds=kwargs.pop("timeout"))
    return AppSettings(token=token, limits=limits, **kwargs)


def run_server(settings, port: int, what: str) -> None:
    import uvicorn

    from ..web.app import create_app

    try:
        app = create_app(settings)
    except ValueError as exc:
        print_error("error", f"{exc}")
        raise typer.Exit(2)
    auth = "bearer token required" if settings.token else "no token (loopback only)"
    print_info(f"{what} on http://{settings.host}:{port}/ ({auth}); API docs at /docs")
    uvicorn.run(app, host=settings.host, port=port, log_level="warning", access_log=False,
                server_header=False, timeout_keep_alive=5, limit_concurrency=256)


HOST_HELP = "Address to bind; anything but loopback needs a bearer token ($PACKSHOT_TOKEN or --token-file)."


__all__ = ["settings_or_exit", "run_server", "HOST_HELP"]
