"""What keeps the review app and the API safe to run: who may call, which files may be served, which
requests may change state, and how big or slow a request may be.

- **Binding**: both apps bind to 127.0.0.1 by default. Bound to any other address they refuse to start
  without a bearer token (from ``PACKSHOT_TOKEN`` or a token file), and every request then needs it.
- **Files**: only files under the run folder are served; a path is refused when it is absolute, names
  ``..``, holds a backslash or NUL, or resolves (symlinks followed) outside the folder.
- **CSRF**: every state-changing review request carries a token equal to the ``packshot_csrf`` cookie
  (double submit; the cookie is SameSite=Strict) and, when the browser sends one, a same-origin
  ``Origin`` header.
- **Limits**: request body bytes, decoded pixels and processing seconds, each with a clear 4xx.
- **Errors**: responses never carry a stack trace; unexpected errors are logged here with an id that the
  response names.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

log = logging.getLogger("packshot.web")

TOKEN_ENV = "PACKSHOT_TOKEN"
"""Environment variable holding the bearer token."""
TOKEN_FILE_ENV = "PACKSHOT_TOKEN_FILE"
"""Environment variable naming a file whose first line is the bearer token."""
CSRF_COOKIE = "packshot_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
AUTH_COOKIE = "packshot_auth"
MIN_TOKEN_CHARS = 16


class SecurityError(Exception):
    """A request or a setting is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


class ConfigError(ValueError):
    """A server setting is unsafe or invalid (raised before the server starts)."""


@dataclass(frozen=True)
class Limits:
    """Per-request limits, each answered with a clear 4xx."""

    max_body_bytes: int = 32 * 1024 * 1024
    """Largest request body (bytes); bigger uploads get 413."""
    max_pixels: int = 40_000_000
    """Largest decoded image (width x height); bigger images get 413 before they are decoded."""
    max_seconds: float = 120.0
    """Longest processing time of one request; longer work is abandoned with 408."""
    max_frames: int = 16
    """Most frames one /v1/render call may produce."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; False for every other address (0.0.0.0 included)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(host: str, token: str | None = None, token_file: str | Path | None = None,
                  environ: dict[str, str] | None = None) -> str | None:
    """The bearer token the server requires, or None on loopback when none is given.

    Order: ``token``; ``token_file``; ``$PACKSHOT_TOKEN``; the file named by ``$PACKSHOT_TOKEN_FILE``.

    Raises
    ------
    ConfigError
        Bound to a non-loopback address without a token, a token file that cannot be read, or a
        token shorter than 16 characters.
    """
    env = os.environ if environ is None else environ
    source = "--token"
    if token is None and token_file is not None:
        token, source = _read_token_file(Path(token_file)), str(token_file)
    if token is None and env.get(TOKEN_ENV):
        token, source = env[TOKEN_ENV], f"${TOKEN_ENV}"
    if token is None and env.get(TOKEN_FILE_ENV):
        token, source = _read_token_file(Path(env[TOKEN_FILE_ENV])), env[TOKEN_FILE_ENV]
    if token is not None:
        token = token.strip()
        if len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"{source}: the bearer token must be at least {MIN_TOKEN_CHARS} characters")
        return token
    if not is_loopback(host):
        raise ConfigError(
            f"--host {host}: binding to a non-loopback address needs a bearer token: set ${TOKEN_ENV}, "
            f"${TOKEN_FILE_ENV} or --token-file")
    return None


def _read_token_file(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the token file ({exc.__class__.__name__})") from exc
    if not lines or not lines[0].strip():
        raise ConfigError(f"{path}: the token file is empty")
    return lines[0].strip()


def token_matches(expected: str | None, presented: str | None) -> bool:
    """Constant-time comparison; True when no token is required."""
    if expected is None:
        return True
    if not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def bearer_from(headers: Any, cookies: Any | None = None) -> str | None:
    """The token from ``Authorization: Bearer ...`` or, for the review pages in a browser, the auth cookie."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if cookies is not None:
        return cookies.get(AUTH_COOKIE)
    return None


# --------------------------------------------------------------------------------------------- files
def safe_path(root: str | Path, relative: str) -> Path:
    """``root / relative`` when it is a regular file inside ``root`` (symlinks resolved), else SecurityError.

    ``relative`` is the path as the router decoded it; it is decoded once more so that a double-encoded
    ``%2e%2e`` is judged as ``..`` too. Refused with 404 (never saying what exists outside): absolute
    paths, ``..`` parts, backslashes, NUL, and anything that resolves outside ``root``.
    """
    root_real = Path(os.path.realpath(root))
    text = relative
    for _ in range(3):  # %252e%252e -> %2e%2e -> ..
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    if not text or "\x00" in text or "\\" in text or text.startswith("/") or ":" in text.split("/")[0]:
        raise SecurityError(404, "not found")
    parts = text.split("/")
    if any(p in ("..", "") for p in parts[:-1]) or parts[-1] in ("..", "", "."):
        raise SecurityError(404, "not found")
    candidate = Path(os.path.realpath(root_real.joinpath(*parts)))
    try:
        candidate.relative_to(root_real)
    except ValueError:
        raise SecurityError(404, "not found") from None
    if not candidate.is_file():
        raise SecurityError(404, "not found")
    return candidate


# --------------------------------------------------------------------------------------------- CSRF
def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def check_csrf(method: str, headers: Any, cookies: Any, form_token: str | None, host_header: str | None) -> None:
    """Refuse (403) a state-changing request without a CSRF token equal to the cookie, or from another origin."""
    if method.upper() in ("GET", "HEAD", "OPTIONS"):
        return
    cookie = cookies.get(CSRF_COOKIE)
    sent = headers.get(CSRF_HEADER) or form_token
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise SecurityError(403, "missing or wrong CSRF token: reload the page and try again")
    origin = headers.get("origin")
    if origin and origin != "null" and host_header:
        if urlsplit(origin).netloc != host_header:
            raise SecurityError(403, f"cross-origin request from {origin} refused")


def error_id() -> str:
    return uuid.uuid4().hex[:12]


def log_unexpected(where: str, exc: BaseException) -> str:
    """Log an unexpected exception with its traceback (server side only); return the id the client sees."""
    ident = error_id()
    log.error("unexpected error %s in %s", ident, where, exc_info=exc)
    return ident


def body_limit_middleware(max_bytes: int, paths: Callable[[str], bool] = lambda p: True):
    """ASGI middleware factory: 413 for a body over ``max_bytes`` (by Content-Length, or counted while it streams)."""

    def wrap(app):
        async def middleware(scope, receive, send):
            if scope["type"] != "http" or not paths(scope.get("path", "")):
                return await app(scope, receive, send)
            declared = None
            for name, value in scope.get("headers", []):
                if name == b"content-length":
                    try:
                        declared = int(value)
                    except ValueError:
                        declared = None
            if declared is not None and declared > max_bytes:
                return await _send_json(send, 413, {"error": f"request body of {declared} bytes is over the limit "
                                                             f"of {max_bytes} bytes"})
            seen = 0
            too_big = False

            async def counted_receive():
                nonlocal seen, too_big
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > max_bytes:
                        too_big = True
                        raise _BodyTooLarge()
                return message

            started = False
            replaced = False

            async def tracking_send(message):
                # an app that caught the overflow while parsing (FastAPI answers 400) is answered 413 instead
                nonlocal started, replaced
                if message["type"] == "http.response.start":
                    started = True
                    if too_big:
                        replaced = True
                        return await _send_json(send, 413, {"error": f"request body is over the limit of "
                                                                     f"{max_bytes} bytes"})
                elif replaced:
                    return None
                await send(message)

            try:
                await app(scope, counted_receive, tracking_send)
            except Exception:
                if too_big and not started:
                    await _send_json(send, 413, {"error": f"request body is over the limit of {max_bytes} bytes"})
                else:
                    raise

        return middleware

    return wrap


class _BodyTooLarge(Exception):
    pass


async def _send_json(send, status: int, payload: dict) -> None:
    import json

    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
