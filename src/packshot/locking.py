"""An exclusive lock on an output folder, so two runs never write into one folder at once.

The lock is the file ``<folder>/.packshot.lock``, ``flock``-ed exclusively by its holder and
holding a JSON description of it (pid, host, process start time, command, time taken). The kernel
drops a ``flock`` when its process dies, so the lock of a killed run is free at once. On a
filesystem without ``flock`` the file is created with ``O_EXCL`` instead and a lock whose holder
is dead is taken over by pid check (:func:`is_stale`).

* A second run finds the lock and refuses with :class:`FolderLockedError`, whose message names
  the holder (pid, host, command, since when); with ``wait=True`` it polls until the lock is
  free (or ``timeout`` seconds pass).
* A lock left by a run that was killed (SIGKILL, power loss) is *stale*: its holder is on this
  host and its pid is dead (or the pid was reused by another process: the recorded start time
  differs). It is taken over by the next run (``OutputLock.took_over`` names the dead holder).
* :meth:`OutputLock.release` (the context manager's exit) deletes the file, and only when it is
  still ours.

API
---
``OutputLock(folder, wait=False, timeout=None, command=None)``: a context manager;
``.acquire()``, ``.release()``, ``.held``, ``.path``, ``.took_over``.
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

    After :meth:`acquire`, ``took_over`` is the holder description of a dead run whose lock was
    taken over (None when the folder was free).
    """

    def __init__(self, folder: str | Path, wait: bool = False, timeout: float | None = None,
                 command: str | None = None, poll: float = 0.25):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.wait = wait
        self.timeout = timeout
        self.command = command
        self.poll = poll
        self.took_over: dict[str, Any] | None = None
        self._fd: int | None = None
        self._token: dict[str, Any] | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    # -- flock (local filesystems): the kernel drops the lock when its holder dies -----------------
    def _try_flock(self) -> bool | None:
        """True: acquired; False: held by a live process; None: this filesystem has no flock."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError:
            os.close(fd)
            return None
        try:
            # the file we locked must still be the lock file (a releasing holder unlinks it)
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return self._try_flock()
        previous = _read(self.path)
        me = _me(self.command)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(me, sort_keys=True) + "\n").encode(), 0)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        # a holder description left in a file nobody had locked: its run died without releasing
        self.took_over = previous if previous else None
        self._fd, self._token = fd, me
        return True

    # -- fallback without flock: O_EXCL + pid check ------------------------------------------------
    def _try_exclusive(self) -> bool:
        me = _me(self.command)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read(self.path)
            stale = is_stale(holder) if holder is not None else self._old_empty()
            if not stale:
                return False
            # move the stale file aside (one contender wins the rename), then try again
            aside = self.path.with_name(f"{LOCK_NAME}.stale.{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.path, aside)
                self.took_over = holder
                with contextlib.suppress(OSError):
                    os.unlink(aside)
            return self._try_exclusive()
        try:
            os.write(fd, (json.dumps(me, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise
        self._fd, self._token = fd, me
        return True

    def _old_empty(self) -> bool:
        with contextlib.suppress(OSError):
            return time.time() - self.path.stat().st_mtime > 60
        return False

    def acquire(self) -> "OutputLock":
        if self.held:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            got = self._try_flock()
            if got is None:
                got = self._try_exclusive()
            if got:
                return self
            if not self.wait or (deadline is not None and time.monotonic() >= deadline):
                raise FolderLockedError(self.folder, read_holder(self.folder))
            time.sleep(self.poll)

    def release(self) -> None:
        """Delete the lock file (while still holding it) and let go."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            with contextlib.suppress(OSError):
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
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
