"""One run per output folder: an exclusive lock on ``DIR/.packshot.lock``.

The lock is an ``flock`` held by the running process: the kernel drops it when the process
ends, however it ends (SIGKILL included), so a killed run never leaves a stale lock behind. The
file records the holder's pid and start time, for the message a second run prints.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..errors import PackshotError

LOCK_NAME = ".packshot.lock"


class LockedError(PackshotError):
    """Another run holds the output folder."""


class OutputLock:
    """Context manager: hold the output folder's lock, or raise :class:`LockedError`.

    Parameters
    ----------
    out_dir : the output folder.
    wait : seconds to wait for the holder to finish (0: refuse at once).
    """

    def __init__(self, out_dir: str | Path, wait: float = 0.0):
        self.path = Path(out_dir) / LOCK_NAME
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> "OutputLock":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(self.wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LockedError(f"{self.path.parent}: another packshot run is using this folder{holder}; "
                                      "wait for it to finish (or pass --wait SECONDS)") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": time.time()}).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f" (pid {data['pid']})"
    except (OSError, ValueError, KeyError):
        return ""
