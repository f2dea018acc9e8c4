"""`make demo` end to end: wall time of the whole demo (5 products x 3 scenes x 2 variants, with
segment, understand, render, relight, qa per frame and the marketplace export of the hero frames).

Target (issue 4): under two minutes on 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from _common import REPO, update_section


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "packshot.demo", "--out", tmp], cwd=REPO, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"demo failed:\n{proc.stdout}\n{proc.stderr}")
        frames = [p for p in __import__("pathlib").Path(tmp, "frames").rglob("v*.png")
                  if not p.stem.endswith(("_alpha", "_qa_overlay"))]
        lines = [ln for ln in proc.stdout.splitlines() if ":" in ln and "frames" in ln]
    load = os.getloadavg()[0]
    md = [
        "## make demo (issue 4)",
        "",
        f"`python benchmarks/demo.py`: one run of `python -m packshot.demo` (5 generated products at 768 px, "
        f"3 scenes x 2 variants at 768 x 768, qa of every frame, hero frames exported for amazon-main and "
        f"meta-square and checked): **{wall:.1f} s** wall for {len(frames)} frames. Target: under 120 s: "
        f"**{'met' if wall < 120 else 'missed'}**. 1-minute load average at the end: {load:.1f}.",
        "",
        "Per SKU (from the demo's own log):",
        "",
        *[f"- {ln}" for ln in lines],
    ]
    update_section("demo", "\n".join(md))


if __name__ == "__main__":
    main()
