"""What ``packshot serve`` and ``packshot review`` share: limits, the token, and running uvicorn.

When the server is listening (models loaded, socket bound) it says so once: a line of prose on
stderr (none with ``--quiet``) and, with ``--json``, one JSON object on stdout::

    {"event": "ready", "url": "http://127.0.0.1:8000/", "host": "127.0.0.1", "port": 8000,
     "auth": "none", "token_file": null, "token_source": null, ...}

``port`` is the bound port (``--port 0`` picks a free one). The token itself is never printed:
``token_source`` names where it came from (``--token-file``'s path, ``$PACKSHOT_TOKEN`` or
``$PACKSHOT_TOKEN_FILE``) and ``token_file`` the file holding it, if any.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import typer

from ._common import emit, json_mode, print_error, print_info


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


def token_origin(token_file: Path | None, token: str | None) -> tuple[str | None, str | None]:
    """(where the token came from, the file holding it) in :func:`packshot.web.security.resolve_token`'s
    order; (None, None) without a token."""
    from ..web.security import TOKEN_ENV, TOKEN_FILE_ENV

    if token is None:
        return None, None
    if token_file is not None:
        return str(token_file), str(token_file)
    if os.environ.get(TOKEN_ENV):
        return f"${TOKEN_ENV}", None
    path = os.environ.get(TOKEN_FILE_ENV) or None
    return (f"${TOKEN_FILE_ENV}" if path else None), path


def _url(host: str, port: int) -> str:
    shown = f"[{host.strip('[]')}]" if ":" in host else host  # an IPv6 address goes in brackets
    return f"http://{shown}:{port}/"


def run_server(settings, port: int, what: str, token_file: Path | None = None,
               details: Mapping[str, Any] | None = None) -> None:
    """Serve ``settings``' app on ``settings.host:port`` until stopped; say when it is ready (see the
    module docstring; ``details`` are added to the ready object). Exits 2 when the app cannot be
    made, 1 when the server does not start (the address in use: uvicorn names the error on stderr)."""
    import uvicorn

    from ..web.app import create_app

    try:
        app = create_app(settings)
    except ValueError as exc:
        print_error("error", f"{exc}")
        raise typer.Exit(2)
    source, held_in = token_origin(token_file, settings.token)

    def ready(bound_port: int) -> None:
        url = _url(settings.host, bound_port)
        auth = "bearer token required" if settings.token else "no token (loopback only)"
        print_info(f"{what} on {url} ({auth}); API docs at /docs")
        if json_mode():
            emit({"event": "ready", "url": url, "host": settings.host, "port": bound_port,
                  "auth": "bearer" if settings.token else "none", "token_file": held_in, "token_source": source,
                  "docs": url + "docs", **dict(details or {})})

    config = uvicorn.Config(app, host=settings.host, port=port, log_level="warning", access_log=False,
                            server_header=False, timeout_keep_alive=5, limit_concurrency=256)
    server = _ready_server(config, ready)
    try:
        server.run()
    except SystemExit:  # uvicorn exits 3 when it cannot start (it has logged why); not a ready server: 1
        if server.started:
            raise
    if not server.started:
        raise typer.Exit(1)


def _ready_server(config, on_ready):
    """A uvicorn server that calls ``on_ready(bound_port)`` once it listens."""
    import uvicorn

    class ReadyServer(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                bound = self.servers[0].sockets[0].getsockname()[1] if self.servers else config.port
                on_ready(int(bound))

    return ReadyServer(config)


HOST_HELP = "Address to bind; anything but loopback needs a bearer token ($PACKSHOT_TOKEN or --token-file)."
PORT_HELP = "TCP port (0: a free one, reported when ready)."


__all__ = ["settings_or_exit", "run_server", "token_origin", "HOST_HELP", "PORT_HELP"]
