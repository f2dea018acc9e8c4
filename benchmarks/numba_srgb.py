"""Does numba pay in the default install? The one compiled kernel (linear -> 8-bit sRGB in export)
against its numpy fallback.

numba is used in exactly one place: ``packshot.imaging._srgb_kernel.srgb8_kernel``, the last
conversion of every exported file (``packshot.imaging.linear_to_srgb8_fast``). Without
numba the same function runs a few numpy passes over a lookup table and gives the same bytes.
This measures, on the same machine in the same run:

- the conversion alone on a 2048 x 2048 frame (median of 7 after a warm-up), numba vs numpy;
- the whole 12-profile export of ``benchmarks/export.py`` (median of 5), numba vs numpy;
- what numba costs a fresh process before its first conversion: ``import numba`` plus loading
  the kernel from the on-disk cache (``NUMBA_CACHE_DIR``), and compiling it with an empty cache;
- peak memory of one 8192 x 8192 conversion in a fresh process, numba vs numpy.

Run: ``.venv/bin/python benchmarks/numba_srgb.py``
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, median_time, peak_rss_mb, update_section

import numpy as np  # noqa: E402

from packshot.imaging import lut as deliver  # noqa: E402  (export converts through imaging's table)

FRAME = (2048, 2048)
BIG = 8192


def _fresh(code: str, env: dict[str, str]) -> float:
    """Seconds a fresh interpreter spends on ``code`` (it prints them)."""
    wrapper = f"import sys, time\nsys.path.insert(0, {str(REPO / 'src')!r})\n{code}"
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout
    return float(out.strip().splitlines()[-1])


def first_use_seconds(cache_dir: str) -> float:
    return _fresh(
        "import numpy as np\n"
        "t0 = time.perf_counter()\n"
        "from packshot.imaging._srgb_kernel import srgb8_kernel\n"
        "from packshot.imaging import lut as deliver\n"
        "x = np.zeros((4, 4, 3), np.float32)\n"
        "srgb8_kernel(x, deliver._LUT_32, deliver._BAYER_32, np.empty(x.shape, np.uint8))\n"
        "print(time.perf_counter() - t0)\n", {"NUMBA_CACHE_DIR": cache_dir})


def peak_mb(use_numba: bool) -> float:
    return peak_rss_mb(
        "import numpy as np\n"
        "from packshot.imaging import lut as deliver\n"
        f"deliver._KERNEL = None if {use_numba} else False\n"
        f"x = np.random.default_rng(0).random(({BIG}, {BIG}, 3), dtype=np.float32)\n"
        "deliver.linear_to_srgb8_fast(x[:8, :8])\n"  # load / compile before the high-water mark matters
        "out = deliver.linear_to_srgb8_fast(x)\n")


def export_seconds(use_numba: bool) -> float:
    sys.path.insert(0, str(Path(__file__).parent))
    from export import benchmark_profiles, make_frame  # the export benchmark's frame and 12 profiles

    from packshot.export.delivery.deliver import export_frames

    deliver._KERNEL = None if use_numba else False
    profiles = benchmark_profiles()
    with tempfile.TemporaryDirectory() as tmp:
        sidecar = make_frame(Path(tmp) / "frames")
        runs = iter(range(100))

        def run():
            result = export_frames([sidecar], profiles, Path(tmp) / f"out-{next(runs)}", workers=2)
            if not result.ok:
                raise RuntimeError(f"export failed: {result.failures}")

        seconds, _ = median_time(run, repeats=5, warmup=1)
    deliver._KERNEL = None
    return seconds


def main() -> None:
    kernel = deliver._compiled_kernel()
    if kernel is None:
        raise SystemExit("numba is not installed: nothing to compare")
    rng = np.random.default_rng(0)
    frame = rng.random((*FRAME, 3), dtype=np.float32)
    deliver._KERNEL = None
    with_numba = deliver.linear_to_srgb8_fast(frame)
    deliver._KERNEL = False
    without = deliver.linear_to_srgb8_fast(frame)
    same = bool(np.array_equal(with_numba, without))
    t_numpy, _ = median_time(lambda: deliver.linear_to_srgb8_fast(frame), repeats=7)
    deliver._KERNEL = None
    t_numba, _ = median_time(lambda: deliver.linear_to_srgb8_fast(frame), repeats=7)

    e_numba = export_seconds(True)
    e_numpy = export_seconds(False)

    warm_cache = os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".venv" / "numba-cache"))
    first_use_seconds(warm_cache)  # make sure the cache holds the kernel
    t_cached = first_use_seconds(warm_cache)
    with tempfile.TemporaryDirectory() as empty:
        t_cold = first_use_seconds(empty)
    m_numba, m_numpy = peak_mb(True), peak_mb(False)

    saving = t_numpy - t_numba
    md = f"""## numba: the compiled sRGB kernel against its numpy fallback

`benchmarks/numba_srgb.py`. numba is used in one place, the linear -> 8-bit sRGB conversion of
every exported file (`packshot.export.delivery.deliver.linear_to_srgb8_fast`); without numba the same
function runs numpy passes over the same lookup table. Same bytes either way: **{same}**.

| measure | with numba | numpy only | numba / numpy |
|---|---|---|---|
| conversion of one {FRAME[0]} x {FRAME[1]} frame (median of 7) | {t_numba * 1e3:.1f} ms | {t_numpy * 1e3:.1f} ms | {t_numba / t_numpy:.2f}x |
| 12-profile export of `benchmarks/export.py` (median of 5, 2 threads) | {e_numba:.3f} s | {e_numpy:.3f} s | {e_numba / e_numpy:.2f}x |
| peak memory, one {BIG} x {BIG} conversion (fresh process, 768 MiB input) | {m_numba:.0f} MiB | {m_numpy:.0f} MiB | {m_numba / m_numpy:.2f}x |
| first use in a fresh process: `import numba` + kernel from the cache | {t_cached:.2f} s | 0 | |
| first use with an empty cache (compile) | {t_cold:.2f} s | 0 | |

numba saves {saving * 1e3:.0f} ms per {FRAME[0] * FRAME[1] / 1e6:.1f} MP converted and costs {t_cached:.2f} s once per
process (cached kernel): it pays after ~{t_cached / max(saving, 1e-9) * FRAME[0] * FRAME[1] / 1e6:.0f} MP of
exported pixels in one process. Load average during the run: {os.getloadavg()[0]:.1f} (shared machine).
"""
    update_section("numba", md)


if __name__ == "__main__":
    main()
