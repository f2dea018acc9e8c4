"""A bounded worker pool for the API: N threads and a queue of M waiting requests; the next one gets 429.

Work runs in threads (numpy, OpenCV and onnxruntime release the GIL while they compute). A request that
waits or runs longer than the time limit is answered 408; its slot is freed only when the work itself
ends, so abandoned work can never pile up beyond ``workers + queue`` jobs.

Also the Prometheus text metrics (no extra dependency: the format is a few lines).
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable


class Busy(Exception):
    """Every worker is busy and the queue is full; ``retry_after`` is a whole number of seconds."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"busy: retry after {retry_after} s")


class TooSlow(Exception):
    """The work took longer than the time limit."""


class WorkerPool:
    """``workers`` threads plus ``queue`` waiting places."""

    def __init__(self, workers: int = 2, queue: int = 8, name: str = "packshot-worker"):
        if workers < 1 or queue < 0:
            raise ValueError(f"workers must be >= 1 and queue >= 0, got {workers} and {queue}")
        self.workers = workers
        self.queue = queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._pending = 0  # running + waiting
        self._running = 0
        self._mean_seconds = 1.0  # running mean of the service time, for Retry-After

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def running(self) -> int:
        return self._running

    def retry_after(self) -> int:
        waves = (self._pending + 1) / self.workers
        return max(1, math.ceil(self._mean_seconds * waves))

    def _reserve(self) -> None:
        with self._lock:
            if self._pending >= self.workers + self.queue:
                raise Busy(self.retry_after())
            self._pending += 1

    def _release(self, seconds: float | None) -> None:
        with self._lock:
            self._pending -= 1
            if seconds is not None:
                self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * seconds

    def _call(self, fn: Callable[..., Any], args: tuple) -> Any:
        with self._lock:
            self._running += 1
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            with self._lock:
                self._running -= 1
            self._release(time.perf_counter() - t0)

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """Run ``fn(*args)`` in a worker; raise :class:`Busy` at once when full, :class:`TooSlow` after ``timeout``."""
        self._reserve()
        loop = asyncio.get_running_loop()
        try:
            future = self._executor.submit(self._call, fn, args)
        except BaseException:
            self._release(None)
            raise
        wrapped = asyncio.wrap_future(future, loop=loop)
        try:
            return await asyncio.wait_for(asyncio.shield(wrapped), timeout)
        except asyncio.TimeoutError:
            # the thread goes on to the end (Python cannot stop it) and frees its slot then
            if future.cancel():
                self._release(None)
            raise TooSlow() from None

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class ResultStore:
    """Recent results kept in memory for the URLs the API hands out: bounded by count and bytes (oldest go)."""

    def __init__(self, max_items: int = 64, max_bytes: int = 256 * 1024 * 1024):
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes, media_type: str) -> None:
        with self._lock:
            if key in self._items:
                self._bytes -= len(self._items.pop(key)[0])
            self._items[key] = (data, media_type)
            self._bytes += len(data)
            while self._items and (len(self._items) > self.max_items or self._bytes > self.max_bytes):
                _, (old, _) = self._items.popitem(last=False)
                self._bytes -= len(old)

    def get(self, key: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._items.get(key)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes


def resident_bytes() -> int:
    """This process's resident memory (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Metrics:
    """Request counters and durations by route and status, rendered in the Prometheus text format."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = {}
        self._seconds: dict[str, list[float]] = {}  # route -> [sum, count]
        self._rejected = 0
        self._timeouts = 0
        self.started = time.time()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (method, route, status)
            self._requests[key] = self._requests.get(key, 0) + 1
            acc = self._seconds.setdefault(route, [0.0, 0])
            acc[0] += seconds
            acc[1] += 1
            if status == 429:
                self._rejected += 1
            if status == 408:
                self._timeouts += 1

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        lines = ["# HELP packshot_requests_total HTTP requests answered, by method, route and status.",
                 "# TYPE packshot_requests_total counter"]
        with self._lock:
            for (method, route, status), n in sorted(self._requests.items()):
                lines.append(f'packshot_requests_total{{method="{method}",route="{_esc(route)}",status="{status}"}} {n}')
            lines += ["# HELP packshot_request_seconds Time to answer a request, by route.",
                      "# TYPE packshot_request_seconds summary"]
            for route, (total, count) in sorted(self._seconds.items()):
                lines.append(f'packshot_request_seconds_sum{{route="{_esc(route)}"}} {total:.6f}')
                lines.append(f'packshot_request_seconds_count{{route="{_esc(route)}"}} {count}')
            lines += ["# HELP packshot_rejected_total Requests refused with 429 because the queue was full.",
                      "# TYPE packshot_rejected_total counter", f"packshot_rejected_total {self._rejected}",
                      "# HELP packshot_timeouts_total Requests abandoned with 408 at the time limit.",
                      "# TYPE packshot_timeouts_total counter", f"packshot_timeouts_total {self._timeouts}"]
        for name, (doc, value) in gauges.items():
            lines += [f"# HELP {name} {doc}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
