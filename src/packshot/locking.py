"""An exclusive lock on an output folder, so two runs never write into one folder at once.

The lock is the file ``<folder>/.packshot.lock``, created with ``O_EXCL`` and holding a JSON
description of its holder (pid, host, process start time, command, time taken). While held, the
file is also ``flock``-ed where the filesystem supports it.

* A second run finds the lock and refuses with :class:`FolderLockedError`, whose message names
  the holder (pid, host, command, since when); with ``wait=True`` it polls until the lock is
  free (or ``timeout`` seconds pass).
* A lock left by a run that was killed (SIGKILL, power loss) is *stale* when its holder is on
  this host and its pid is dead (or the pid was reused by another process: the recorded start
  time differs). A stale lock is taken over, atomically, by one waiting run.
* :meth:`OutputLock.release` (the context manager's exit) deletes the file, and only when it is
  still ours.

API
---
``OutputLock(folder, wait=False, timeout=None, command=None)``: a context manager;
``.acquire()``, ``.release()``, ``.held``, ``.path``.
``read_holder(folder) -> dict | None``: who holds the lock now (None when free).
``is_stale(holder) -> bool``: whether a holder dict describes a dead process on this host.
``FolderLockedError``: raised when the folder is held by a live process.
``terminate_as_exit()``: a context manager turning SIGTERM into ``SystemExit(143)``, so ``finally``
blocks (lock release, temp-file removal) run when a run is terminated.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from .errors import PackshotError

LOCK_NAME = ".packshot.lock"


class FolderLockedError(PackshotError):
    """The output folder is locked by another live process."""

    def __init__(self, folder: Path, holder: dict[str, Any] | None):
        self.folder = folder
        self.holder = holder or {}
        h = self.holder
        who = (f"pid {h.get('pid', '?')} on {h.get('host', '?')}"
               + (f" ({h['command']})" if h.get("command") else "")
               + (f", since {h['since']}" if h.get("since") else ""))
        super().__init__(f"{folder}: output folder is in use by another packshot run: {who}; "
                         f"wait for it to finish, use --wait, or choose another --out "
                         f"(lock file {folder / LOCK_NAME})")


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of a process (Linux), to tell a reused pid from the holder."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
        return data.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _me(command: str | None) -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "start": _proc_start(os.getpid()),
            "command": command if command is not None else " ".join(Path(a).name if i == 0 else a
                                                                    for i, a in enumerate(sys.argv))[:300],
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def is_stale(holder: dict[str, Any] | None) -> bool:
    """True when ``holder`` is a process on this host that no longer runs (so its lock may be taken).

    A holder on another host is never stale here (its pid cannot be checked from this host);
    an unreadable holder description is stale only once the lock file is older than a minute
    (a live run writes it right after creating it)."""
    if not holder:
        return False
    if holder.get("host") != socket.gethostname():
        return False
    try:
        pid = int(holder.get("pid"))
    except (TypeError, ValueError):
        return True
    if not _pid_alive(pid):
        return True
    start = holder.get("start")
    now = _proc_start(pid)
    return bool(start and now and start != now)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_holder(folder: str | Path) -> dict[str, Any] | None:
    """The holder description in ``folder``'s lock file, or None when the folder is not locked."""
    path = Path(folder) / LOCK_NAME
    if not path.exists():
        return None
    return _read(path) or {"unreadable": True}


class OutputLock:
    """Exclusive lock on an output folder (see the module docs).

    Parameters
    ----------
    folder : the output folder (created when missing).
    wait : poll until the lock is free instead of refusing.
    timeout : with ``wait``, give up (``FolderLockedError``) after this many seconds; None = forever.
    command : what to record as the holder's command (default: this process's argv).
    poll : seconds between tries while waiting.
    """

    def __init__(self, folder: str | Path, wait: bool = False, timeout: float | None = None,
                 command: str | None = None, poll: float = 0.25):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.wait = wait
        self.timeout = timeout
        self.command = command
        self.poll = poll
        self._fd: int | None = None
        self._token: dict[str, Any] | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        me = _me(self.command)
        try:
            os.write(fd, (json.dumps(me, sort_keys=True) + "\n").encode())
            os.fsync(fd)
            with contextlib.suppress(OSError, AttributeError):
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise
        self._fd, self._token = fd, me
        return True

    def _stale_now(self) -> bool:
        """Whether the existing lock file belongs to a dead holder (checked twice against races)."""
        holder = _read(self.path)
        if holder is None:
            with contextlib.suppress(OSError):
                # being written right now by a live run, or garbage left long ago
                return time.time() - self.path.stat().st_mtime > 60
            return False
        return is_stale(holder)

    def _take_over(self) -> None:
        """Move a stale lock file aside atomically (only one contender wins the rename)."""
        aside = self.path.with_name(f"{LOCK_NAME}.stale.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.path, aside)
            with contextlib.suppress(OSError):
                os.unlink(aside)

    def acquire(self) -> "OutputLock":
        if self.held:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            if self._try_create():
                return self
            if self._stale_now():
                self._take_over()
                continue
            if not self.wait or (deadline is not None and time.monotonic() >= deadline):
                raise FolderLockedError(self.folder, read_holder(self.folder))
            time.sleep(self.poll)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            current = _read(self.path)
            if current is not None and self._token is not None and current.get("pid") == self._token["pid"] \
                    and current.get("start") == self._token["start"]:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


@contextlib.contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` in the main thread (so ``finally`` and
    ``except BaseException`` cleanups run: temp files removed, lock released). Outside the main
    thread this does nothing."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
