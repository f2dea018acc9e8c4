"""Engines run tasks and hand their results back: local processes or Ray.

Both have the same small interface: ``submit(task)``, ``wait(timeout) -> [(task, results)]``,
``inflight`` and ``close()``. The runner keeps at most ``capacity`` tasks in flight (bounded
queues: memory does not grow with the catalogue).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .store import UnitResult
from .work import init_worker, run_task


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _task_ids(task: Any) -> tuple[str, ...]:
    return tuple(task.unit_ids)


def _crashed(task: Any, why: str) -> list[UnitResult]:
    return [UnitResult(uid, False, 0.0, error=why, hint="run again (done units are kept); with fewer --workers if "
                                                         "memory ran out", info={"stage": "worker"})
            for uid in _task_ids(task)]


class LocalEngine:
    """A process pool sized to the cores; each worker loads its models once and dies with its parent.

    A worker that dies (killed, out of memory) breaks the pool: the pool is rebuilt and the
    tasks it held are tried once more; a task that breaks it twice is reported as failed.
    """

    name = "local"

    def __init__(self, workers: int | None = None, warm: bool = True):
        self.workers = max(1, int(workers or default_workers()))
        self.capacity = 2 * self.workers
        self.warm = warm
        self._pool = self._new_pool()
        self._futures: dict[Future, Any] = {}
        self._tries: dict[int, int] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: a forked child of a parent whose OpenCV / BLAS thread pools have run can
        # deadlock in them; a spawned worker starts clean and its parent is this process
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                   initializer=init_worker, initargs=(self.warm, os.getpid()))

    @property
    def inflight(self) -> int:
        return len(self._futures)

    def submit(self, task: Any) -> None:
        self._tries[id(task)] = self._tries.get(id(task), 0) + 1
        self._futures[self._pool.submit(run_task, task)] = task

    def wait(self, timeout: float = 1.0) -> list[tuple[Any, list[UnitResult]]]:
        if not self._futures:
            return []
        done, _ = futures_wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        out = []
        broken = False
        for f in done:
            task = self._futures.pop(f)
            try:
                out.append((task, f.result()))
            except BrokenProcessPool:
                broken = True
                self._retry_or_fail(task, out)
            except Exception as exc:  # a result that could not be sent back
                out.append((task, _crashed(task, f"{type(exc).__name__}: {exc}")))
        if broken:
            pending = list(self._futures.values())
            self._futures.clear()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            for task in pending:
                self._retry_or_fail(task, out)
        return out

    def _retry_or_fail(self, task: Any, out: list) -> None:
        if self._tries.get(id(task), 0) >= 2:
            out.append((task, _crashed(task, "a worker process died while running this task (twice)")))
        else:
            self.submit(task)

    def close(self, kill: bool = False) -> None:
        """Stop the pool: after the running tasks end, or at once (``kill``: interrupted run)."""
        if kill:
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                try:
                    proc.kill()
                except Exception:
                    pass
            self._pool.shutdown(wait=False, cancel_futures=True)
            return
        self._pool.shutdown(wait=True, cancel_futures=True)


class InlineEngine:
    """Tasks run one at a time in this process (``--workers 1``): no worker to start, models
    loaded once here. A task's failures are results, as in a worker."""

    name = "inline"
    capacity = 1

    def __init__(self, workers: int | None = None, warm: bool = False):
        self._done: list[tuple[Any, list[UnitResult]]] = []
        try:
            import cv2

            self._threads = cv2.getNumThreads()
            cv2.setNumThreads(1)  # one core's worth of work, as in a worker process
        except Exception:
            self._threads = None
        from ..ops.ocr import set_threads
        from .work import blas_threads

        # the OCR engine too (the same readings; left so afterwards: making it again costs ~0.3 s)
        set_threads(1)
        self._blas = blas_threads(1)  # OpenBLAS: restored on close

    @property
    def inflight(self) -> int:
        return len(self._done)

    def submit(self, task: Any) -> None:
        self._done.append((task, run_task(task)))

    def wait(self, timeout: float = 1.0) -> list[tuple[Any, list[UnitResult]]]:
        out, self._done = self._done, []
        return out

    def close(self, kill: bool = False) -> None:
        from .work import restore_blas_threads

        restore_blas_threads(self._blas)
        if self._threads is not None:
            try:
                import cv2

                cv2.setNumThreads(self._threads)
            except Exception:
                pass


class RayEngine:
    """The same tasks on Ray: one actor per worker keeps its models loaded; failed tasks retry.

    Parameters
    ----------
    workers : actors to start (default: the cluster's CPUs, at most the cores here for a local Ray).
    address : an existing cluster (``ray://host:10001`` or ``host:6379``); None starts a local Ray
        bound to 127.0.0.1 that ends with the run.
    num_cpus : CPUs of the local Ray (None: every core).
    num_gpus : GPUs each actor asks for (the diffusion renderer); 0 for the embedded renderer.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, num_cpus: int | None = None,
                 num_gpus: float = 0.0, max_retries: int = 2, warm: bool = True):
        from ..errors import require

        ray = require("ray", "ray", "the Ray engine")
        self.ray = ray
        self._started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
            else:
                src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
                ray.init(num_cpus=num_cpus or default_workers(), include_dashboard=False, log_to_driver=False,
                         _node_ip_address="127.0.0.1", ignore_reinit_error=True,
                         runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(
                             [src] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}})
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, int(workers or cpus))
        self.capacity = 2 * self.workers
        self.max_retries = max_retries

        @ray.remote(num_cpus=1, num_gpus=num_gpus, max_restarts=max_retries, max_task_retries=max_retries)
        class Worker:
            def __init__(self, warm: bool) -> None:
                from packshot.catalogue.work import one_thread_each, warm_up

                one_thread_each()  # one CPU per actor: OpenCV and the OCR engine on one thread
                if warm:
                    warm_up()

            def run(self, task: Any) -> list:
                from packshot.catalogue.work import run_task as _run

                return _run(task)

        self._actors = [Worker.remote(warm) for _ in range(self.workers)]
        self._idle = list(self._actors)
        self._refs: dict[Any, tuple[Any, Any]] = {}
        self._queue: list[Any] = []

    @property
    def inflight(self) -> int:
        return len(self._refs) + len(self._queue)

    def submit(self, task: Any) -> None:
        self._queue.append(task)
        self._dispatch()

    def _dispatch(self) -> None:
        while self._queue and self._idle:
            actor = self._idle.pop()
            task = self._queue.pop(0)
            self._refs[actor.run.remote(task)] = (task, actor)

    def wait(self, timeout: float = 1.0) -> list[tuple[Any, list[UnitResult]]]:
        if not self._refs:
            return []
        ready, _ = self.ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        out = []
        for ref in ready:
            task, actor = self._refs.pop(ref)
            self._idle.append(actor)
            try:
                out.append((task, self.ray.get(ref)))
            except Exception as exc:  # the actor died past its restarts, or the result was lost
                out.append((task, _crashed(task, f"Ray: {type(exc).__name__}: {exc}")))
        self._dispatch()
        return out

    def close(self, kill: bool = False) -> None:
        for a in self._actors:
            try:
                self.ray.kill(a)
            except Exception:
                pass
        if self._started:
            self.ray.shutdown()


def make_engine(name: str, workers: int | None = None, address: str | None = None, **kwargs: Any):
    if name == "inline" or (name == "local" and workers == 1):
        return InlineEngine(workers)
    if name == "local":
        return LocalEngine(workers, **kwargs)
    if name == "ray":
        return RayEngine(workers, address=address, **kwargs)
    raise ValueError(f"engine must be local or ray, got {name!r}")


__all__ = ["InlineEngine", "LocalEngine", "RayEngine", "default_workers", "make_engine"]
