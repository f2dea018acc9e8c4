"""Atomic file writes and the temporary names they use."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import InputError

def _default_file_mode() -> int:
    # mkstemp creates 0600 files; give outputs the usual permissions under the process umask.
    # Read once at import: os.umask can only be read by setting it, which is not thread-safe.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_file_mode()


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    An exception (or a crash) inside the block leaves ``path`` as it was (absent or the old
    content, never a half-written file) and removes the temporary file. The data is flushed to
    disk before the rename. Text modes write UTF-8.

    Examples
    --------
    >>> with atomic_writer("out.json", "w") as f:   # doctest: +SKIP
    ...     f.write("{}")
    """
    if mode not in ("wb", "w", "wt"):
        raise ValueError(f"atomic_writer mode must be a write mode ('wb' or 'w'), got {mode!r}")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(os.stat(p).st_mode) if p.exists() else _FILE_MODE)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# the temporary files atomic_writer makes: ".<name>.<8 random chars>.tmp" (tempfile.mkstemp)
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
# the longest name atomic_writer adds around a file name: "." + name + "." + 8 chars + ".tmp"
TEMP_NAME_OVERHEAD = 14


def check_output_name(path: str | Path) -> None:
    """Raise :class:`InputError` when ``path``'s file name (or the temporary name an atomic write
    uses beside it) is longer than the filesystem allows, before any work is done for it."""
    p = Path(path)
    try:
        limit = os.pathconf(p.parent if p.parent.exists() else ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    length = len(os.fsencode(p.name))
    if length + TEMP_NAME_OVERHEAD > limit:
        raise InputError(p, f"output file name is {length} bytes; at most {limit - TEMP_NAME_OVERHEAD} bytes "
                            f"fit on this filesystem (rename the input to a shorter name)")


def is_temp_file(path: str | Path) -> bool:
    """Whether ``path`` is named like a temporary file of :func:`atomic_writer`."""
    return bool(_TEMP_NAME.match(Path(path).name))


def clean_temp_files(root: str | Path, older_than: float | None = None) -> list[Path]:
    """Delete the temporary files that atomic writes left under ``root`` (recursively) when their
    process was killed (SIGKILL, power loss) before it could remove them; returns what was deleted.

    Only files last modified before the time ``older_than`` (``time.time()`` seconds) are deleted,
    so a writer still busy in the folder keeps its file: pass the start time of a run that holds
    the folder's lock (:class:`packshot.locking.OutputLock`)."""
    root = Path(root)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if not _TEMP_NAME.match(name):
                continue
            p = Path(dirpath) / name
            try:
                if older_than is not None and p.stat().st_mtime >= older_than:
                    continue
                p.unlink()
                removed.append(p)
            except OSError:
                continue
    return removed


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))
