"""Shared by the benchmarks: timing, peak memory, machine description and BENCHMARKS.md sections.

Each benchmark owns one section of BENCHMARKS.md between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->`` and rewrites only that section, so benchmarks can run in any order.
"""

from __future__ import annotations

import fcntl
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
SHARED_PHOTOS = Path(os.environ.get("PACKSHOT_SHARED_PHOTOS", REPO.parent / "shared" / "photos"))
sys.path.insert(0, str(REPO / "src"))


def machine() -> str:
    """One line describing the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores{mem}, Python {platform.python_version()}, {platform.system()}"


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs, and all samples."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), samples


def peak_rss_mb(code: str) -> float:
    """Peak resident memory (MiB) of a fresh Python process running ``code``.

    Read from the child's own ``VmHWM`` (high-water mark of its address space): ``ru_maxrss``
    survives ``exec`` on Linux and would report the (larger) parent's memory at fork time.
    """
    wrapper = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO / 'src')!r})\n"
        + code
        + "\nprint('PEAK_KB', [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("PEAK_KB"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("child did not report its peak memory")


def update_section(name: str, markdown: str) -> None:
    """Replace (or append) this benchmark's section in BENCHMARKS.md, under a file lock."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{markdown.strip()}\n\n_Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}._\n{end}"
    lock_path = REPO / ".benchmarks.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n\nRun with `make bench`. Each section is rewritten by its script in `benchmarks/`.\n"
        if start in text and end in text:
            before, rest = text.split(start, 1)
            _, after = rest.split(end, 1)
            text = before + block + after
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        tmp = BENCHMARKS_MD.with_suffix(".md.tmp")
        tmp.write_text(text)
        os.replace(tmp, BENCHMARKS_MD)
    print(markdown)
