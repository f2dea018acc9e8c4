"""Destinations for exported files: fsspec URLs, atomic uploads, retries and the manifest.

A destination is a folder-like URL: a local path, ``file://...``, ``s3://bucket/prefix``,
``gs://bucket/prefix`` (needs ``gcsfs``), ``memory://...`` or any other fsspec protocol.

Nothing is ever half-written at a final name:

- local folders: a temporary file beside the target, fsync, then ``os.replace``;
- object stores (S3, GCS, Azure) and memory: one PUT of the whole body (S3 and GCS make an
  object visible only when its upload completes; a dropped upload leaves no object, and a
  multipart upload that never completes is invisible too);
- any other protocol: upload to a temporary ``.<name>.<id>.part`` key beside the target, move
  it to the target, and delete the temporary key when anything fails.

Transient failures (connection reset, timeouts, 5xx) are retried with exponential back-off and
jitter (:class:`RetryPolicy`, deterministic when seeded); permanent ones (permission denied, a
missing bucket, a path through a file) are not, and their error names the destination.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ...errors import InputError, MissingExtraError
from ...imaging import atomic_write_bytes

# protocols whose single PUT is atomic: a failed upload leaves no object at the key
_ATOMIC_PUT_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "memory", "az", "abfs", "abfss", "adl"})
_LOCAL_PROTOCOLS = frozenset({"file", "local"})
# fsspec protocols that read but cannot take files as a destination folder
_READ_ONLY_PROTOCOLS = frozenset({"http", "https", "zip", "tar", "libarchive", "github", "git", "data", "reference",
                                  "jlab", "jupyter", "dask", "dbfs+ro", "hf+ro"})
_EXTRAS = {"s3": ("s3fs", "s3"), "s3a": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs"),
           "az": ("adlfs", "azure"), "abfs": ("adlfs", "azure"), "abfss": ("adlfs", "azure")}
"""protocol -> (module, extra of pyproject.toml) named when a destination's file system is missing."""

CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
                 ".json": "application/json", ".csv": "text/csv", ".tsv": "text/tab-separated-values"}

# errors that will not go away by waiting: no retry
_PERMANENT_ERRORS = (PermissionError, NotADirectoryError, IsADirectoryError, FileNotFoundError,
                     FileExistsError, ValueError, TypeError, NotImplementedError)
_PERMANENT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR,
                               errno.ENOENT, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG})


class DestinationError(InputError):
    """A destination cannot be opened or written; the message names the destination URL."""


@dataclass(frozen=True)
class RetryPolicy:
    """How uploads are retried.

    The wait before retry ``n`` (1-based) is ``min(max_delay, base_delay * 2 ** (n - 1))``, of
    which the fraction ``jitter`` is drawn at random ("equal jitter"), so clients that failed
    together do not retry together.
    """

    attempts: int = 4
    """Tries per upload, the first one included (1 = no retry)."""
    base_delay: float = 0.25
    """Seconds to wait before the first retry; doubles for each further retry."""
    max_delay: float = 8.0
    """Longest single wait, seconds."""
    jitter: float = 0.5
    """Fraction of each wait that is random, 0..1 (0: fixed waits)."""
    seed: int | None = None
    """Seed of the jitter (tests); None draws from the operating system."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InputError("retry.attempts", f"must be at least 1, got {self.attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise InputError("retry", "delays must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise InputError("retry.jitter", f"must be in 0..1, got {self.jitter}")

    def delay(self, retry: int, key: str = "") -> float:
        """Seconds to wait before retry number ``retry`` (1-based) of the upload of ``key``."""
        wait = min(self.max_delay, self.base_delay * (2.0 ** (retry - 1)))
        if self.seed is None:
            u = random.random()
        else:  # deterministic per (seed, key, retry), independent of thread scheduling
            h = hashlib.sha256(f"{self.seed}:{key}:{retry}".encode()).digest()
            u = int.from_bytes(h[:8], "big") / 2.0**64
        return wait * (1.0 - self.jitter) + wait * self.jitter * u


# One retry layer: packshot's RetryPolicy. Left on, s3fs's own loop (5 tries) around botocore's
# (up to 5 attempts per call in its legacy mode) would multiply the policy's 4 tries into 100
# requests and minutes of waiting for one upload that keeps failing.
_S3_PROTOCOLS = frozenset({"s3", "s3a"})


def _one_retry_layer(protocol: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``storage_options`` with the file system's client retries off (botocore for S3), unless the
    caller set them."""
    options = dict(storage_options or {})
    if protocol in _S3_PROTOCOLS:
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("retries", {"total_max_attempts": 1})
        options["config_kwargs"] = config
    return options


def _switch_off_library_retries(protocol: str, fs: Any) -> None:
    """s3fs retries in its own loop too (a class attribute, not an option): one try per call."""
    if protocol in _S3_PROTOCOLS and hasattr(fs, "retries"):
        fs.retries = 1


def is_retryable(exc: BaseException) -> bool:
    """Whether an upload error may go away by trying again (network, timeouts, server errors)."""
    if isinstance(exc, _PERMANENT_ERRORS):
        return False
    if isinstance(exc, OSError) and exc.errno in _PERMANENT_ERRNOS:
        return False
    return isinstance(exc, Exception)


@dataclass(frozen=True)
class Delivered:
    """One file that arrived: where, how big, its sha256 and how many tries it took."""

    path: str
    """Path relative to the destination ('/'-separated)."""
    url: str
    """Full URL (or local path) of the file."""
    bytes: int
    sha256: str
    attempts: int


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` removed (for manifests and messages)."""
    return re.sub(r"(^[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", r"\1", str(url))


class Destination:
    """A folder-like fsspec destination with atomic, retried writes.

    Parameters
    ----------
    url : str or Path
        Local path, ``file://``, ``s3://bucket/prefix``, ``gs://``, ``memory://`` ...
    storage_options : mapping, optional
        Passed to the fsspec file system (e.g. ``key``, ``secret``, ``client_kwargs``).
    retry : RetryPolicy
        Retries of transient failures.
    filesystem : fsspec.AbstractFileSystem, optional
        Use this file system instead of opening one from the URL (the URL's path is still the
        root). Lets callers wrap a file system, e.g. to count or inject failures.
    sleep : callable
        Called with the seconds to wait between tries (tests pass a recorder).
    """

    def __init__(self, url: str | Path, storage_options: Mapping[str, Any] | None = None,
                 retry: RetryPolicy = RetryPolicy(), filesystem: Any = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.url = str(url)
        if not self.url.strip():
            raise DestinationError("--dest", "the destination is empty")
        self.retry = retry
        self._sleep = sleep
        protocol = self.url.split("://", 1)[0].lower() if "://" in self.url else "file"
        if protocol in _READ_ONLY_PROTOCOLS:
            raise DestinationError(redact_url(self.url), f"{protocol}:// cannot be written to; use a folder, file://, "
                                                         f"s3://, gs://, az://, memory:// or another writable store")
        if filesystem is None:
            import fsspec

            try:
                filesystem, root = fsspec.core.url_to_fs(self.url, **_one_retry_layer(protocol, storage_options))
                _switch_off_library_retries(protocol, filesystem)
            except ImportError as exc:
                if protocol in _EXTRAS:
                    module, extra = _EXTRAS[protocol]
                    raise MissingExtraError(module, extra, f"{protocol}:// destinations") from exc
                raise DestinationError(redact_url(self.url), f"{protocol}:// destinations need a package that is not "
                                                             f"installed ({exc})") from exc
            except ValueError as exc:
                raise DestinationError(redact_url(self.url), f"not a usable destination URL ({exc})") from exc
            except OSError as exc:  # file systems that connect when opened (ftp, sftp, smb...)
                raise DestinationError(redact_url(self.url), f"cannot reach this destination ({_describe(exc)})") from exc
            except Exception as exc:  # client libraries raise their own types (credentials, endpoints)
                raise DestinationError(redact_url(self.url), f"cannot open this destination "
                                                             f"({type(exc).__name__}: {exc})") from exc
        else:
            root = filesystem._strip_protocol(self.url)
        self.fs = filesystem
        fs_protocols = self.fs.protocol if isinstance(self.fs.protocol, (tuple, list)) else (self.fs.protocol,)
        self.is_local = bool(_LOCAL_PROTOCOLS.intersection(fs_protocols)) and protocol in _LOCAL_PROTOCOLS
        self.protocol = "file" if self.is_local else protocol
        self.root = str(root).rstrip("/")
        if self.is_local:
            self.root = os.path.abspath(self.root)
        self.atomic_put = self.protocol in _ATOMIC_PUT_PROTOCOLS
        self._guard: Any = None

    def protect(self, inputs: Iterable[str | Path]) -> None:
        """Never write over these files (an export's own inputs): a put whose target is one of
        them fails with an :class:`InputError` naming it. Local destinations only (a remote
        object cannot be one of the local inputs)."""
        from ...integrity import InputGuard

        self._guard = InputGuard(inputs)

    # -- naming -----------------------------------------------------------------------------
    @property
    def display(self) -> str:
        """The destination as shown in messages and manifests (no credentials)."""
        return self.root if self.is_local else redact_url(f"{self.protocol}://{self.root.lstrip('/')}")

    def target(self, relpath: str) -> str:
        """Path of ``relpath`` inside the destination, as the file system names it."""
        rel = _check_relpath(relpath)
        return os.path.join(self.root, *rel.split("/")) if self.is_local else f"{self.root}/{rel}"

    def url_for(self, relpath: str) -> str:
        """Full URL (local path for local destinations) of ``relpath``."""
        if self.is_local:
            return self.target(relpath)
        return redact_url(f"{self.protocol}://{self.target(relpath).lstrip('/')}")

    # -- checks -----------------------------------------------------------------------------
    def preflight(self) -> None:
        """Fail early, with one clear error, when the destination cannot be written at all.

        Local: the folder is created and a probe file written and removed. Object stores: the
        bucket (or container) must exist and be reachable. Other protocols are not probed.
        """
        try:
            if self.is_local:
                os.makedirs(self.root, exist_ok=True)
                probe = os.path.join(self.root, f".packshot-probe-{uuid.uuid4().hex}")
                with open(probe, "wb") as f:
                    f.write(b"")
                os.unlink(probe)
            elif self.protocol in ("s3", "s3a", "gs", "gcs"):
                bucket = self.root.split("/", 1)[0]
                if not self.fs.exists(bucket):
                    raise FileNotFoundError(errno.ENOENT, f"bucket '{bucket}' does not exist or is not visible")
        except OSError as exc:
            raise DestinationError(self.display, f"cannot write to this destination ({_describe(exc)})") from exc
        except Exception as exc:  # client libraries raise their own types (credentials, endpoints)
            raise DestinationError(self.display, f"cannot reach this destination ({type(exc).__name__}: {exc})") from exc

    # -- writes -----------------------------------------------------------------------------
    def put(self, relpath: str, data: bytes, content_type: str | None = None) -> Delivered:
        """Write ``data`` at ``relpath`` atomically, retrying transient failures.

        Raises
        ------
        DestinationError
            After the last try, or at once for a permanent failure; names the target URL.
        """
        url = self.url_for(relpath)
        if self.is_local and self._guard is not None:
            self._guard.check(self.target(relpath))
        digest = hashlib.sha256(data).hexdigest()
        content_type = content_type or CONTENT_TYPES.get(os.path.splitext(relpath)[1].lower())
        attempt = 0
        while True:
            attempt += 1
            try:
                self._put_once(relpath, data, content_type)
                return Delivered(path=_check_relpath(relpath), url=url, bytes=len(data), sha256=digest,
                                 attempts=attempt)
            except Exception as exc:
                if attempt >= self.retry.attempts or not is_retryable(exc):
                    tries = f" after {attempt} tries" if attempt > 1 else ""
                    raise DestinationError(url, f"upload failed{tries}: {_describe(exc)}") from exc
                self._sleep(self.retry.delay(attempt, relpath))

    def put_text(self, relpath: str, text: str, content_type: str | None = None) -> Delivered:
        """UTF-8 text version of :meth:`put`."""
        return self.put(relpath, text.encode("utf-8"), content_type)

    def _put_once(self, relpath: str, data: bytes, content_type: str | None) -> None:
        target = self.target(relpath)
        if self.is_local:
            atomic_write_bytes(target, data)
            return
        parent = target.rsplit("/", 1)[0]
        if self.protocol == "memory":
            self.fs.makedirs(parent, exist_ok=True)
        if self.atomic_put:
            self.fs.pipe_file(target, data, **self._content_kwargs(content_type))
            self._verify(target, len(data))
            return
        name = target.rsplit("/", 1)[-1]
        temp = f"{parent}/.{name}.{uuid.uuid4().hex[:12]}.part"
        try:
            self.fs.pipe_file(temp, data)
            self._verify(temp, len(data))
            self.fs.mv(temp, target)
        except BaseException:
            with contextlib.suppress(Exception):
                if self.fs.exists(temp):
                    self.fs.rm(temp)
            raise

    def _content_kwargs(self, content_type: str | None) -> dict[str, Any]:
        if not content_type:
            return {}
        if self.protocol in ("s3", "s3a"):
            return {"ContentType": content_type}
        if self.protocol in ("gs", "gcs"):
            return {"content_type": content_type}
        return {}

    def _verify(self, path: str, size: int) -> None:
        # A size check catches a store that silently kept a short body.
        info = self.fs.info(path)
        got = info.get("size")
        if got is not None and int(got) != size:
            raise OSError(errno.EIO, f"stored size {got} differs from the {size} bytes sent")

    def read_bytes(self, relpath: str) -> bytes:
        """The bytes at ``relpath`` (for checks and tests)."""
        target = self.target(relpath)
        if self.is_local:
            return Path(target).read_bytes()
        return self.fs.cat_file(target)


def _check_relpath(relpath: str) -> str:
    rel = str(relpath).replace("\\", "/")
    parts = rel.split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InputError(relpath, "not a safe relative path inside the destination")
    return rel


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, OSError) else f"{type(exc).__name__}: {text}"


def write_manifest(manifest: Mapping[str, Any], destination: Destination, name: str = "packshot-manifest.json",
                   local_path: str | Path | None = None) -> tuple[Delivered, Path | None]:
    """Write the manifest (JSON) atomically at the destination and, when given, at ``local_path``.

    The local copy is written first: when the destination refuses the manifest, what went
    where is still on disk. Returns the destination record and the local path.
    """
    text = json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n"
    local = None
    if local_path is not None:
        local = Path(local_path)
        atomic_write_bytes(local, text.encode("utf-8"))
    return destination.put_text(name, text, "application/json"), local
