"""Catalogue runner: throughput, memory, cache and targeted invalidation, Ray against local.

Generated SKUs (bottle, box, jar, can, pouch in turn, each with its own seed, label and master
artwork) at 1024 x 1024, a brief of 2 scenes x 2 variants at 1024 x 1024, every frame checked
(QA against the master) and exported to amazon-main and meta-square, 2 local worker processes,
the embedded renderer.

1. **first run** into an empty folder: frames per minute end to end (planning, copying sources,
   every unit, reports), and peak memory: the highest total resident memory of the run's
   process tree (parent + workers), sampled every 0.2 s.
2. **rerun, nothing changed**: wall time (every unit up to date).
3. **one scene's lighting changed**: which units were redone (must be exactly that scene's
   frames, their QA and exports) and the wall time.
4. **Ray against local** on the first ``--ray-skus`` SKUs, each into a fresh folder: throughput
   of the Ray engine (local Ray on 127.0.0.1 with 2 CPUs, 2 actors) over that of the local
   engine (2 processes). Ray's own start is inside its wall time.

Targets: >= 60 frames/min, peak <= 4 GB, rerun <= 5 s, invalidation exact, Ray >= 0.75 x local.

Run: ``.venv/bin/python benchmarks/catalogue.py [--skus 200] [--ray-skus 20]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from _common import machine, update_section

TARGET_FPM = 60.0
TARGET_PEAK_GB = 4.0
TARGET_RERUN_S = 5.0
TARGET_RAY_RATIO = 0.75
KINDS = ("bottle", "box", "jar", "can", "pouch")
PROFILES = ("amazon-main", "meta-square")

BRIEF = """name: benchmark
defaults:
  sizes: ["1024x1024"]
  variants: 2
  seed: 11
scenes:
  - {name: studio, preset: studio-white, floor: 0.25}
  - {name: marble, preset: marble, lighting: {azimuth: 150, elevation: 40}}
"""


def make_catalogue(folder: Path, n: int, size: int = 1024) -> Path:
    from packshot.samples import make_product, write_sample

    rows = ["sku,photo,master,title"]
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        name = f"sku-{i:04d}"
        if not (folder / f"{name}.png").exists():
            write_sample(make_product(kind, seed=1000 + i, size=(size, size)), folder, name=name)
        rows.append(f"SKU-{i:04d},{name}.png,{name}_master.png,{kind} {i}")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


class TreeMemory:
    """Peak of the summed resident memory of this process and its descendants."""

    def __init__(self, every: float = 0.2):
        import psutil

        self.psutil = psutil
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = self.psutil.Process()
        while not self._stop.is_set():
            total = 0
            try:
                procs = [me] + me.children(recursive=True)
            except self.psutil.Error:
                procs = [me]
            for p in procs:
                try:
                    total += p.memory_info().rss
                except self.psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.every)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def timed_run(manifest: Path, out: Path, brief: Path, **kwargs):
    from packshot.catalogue import RunSettings, run_catalogue

    redone: list[str] = []
    t0 = time.perf_counter()
    outcome = run_catalogue(manifest, out, brief=brief, profiles=PROFILES, settings=RunSettings(), workers=2,
                            progress=True, on_results=lambda task, results: redone.extend(r.id for r in results),
                            **kwargs)
    return outcome, time.perf_counter() - t0, redone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--ray-skus", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None, help="Work in this folder (kept) instead of a temp one.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        manifest = make_catalogue(root / "photos", args.skus)
        gen_s = time.perf_counter() - t0
        brief = root / "brief.yaml"
        brief.write_text(BRIEF)
        out = root / "out"

        with TreeMemory() as mem:
            first, first_s, _ = timed_run(manifest, out, brief)
        frames = first.frames_done
        fpm = 60.0 * frames / first_s
        peak_gb = mem.peak / 1024 ** 3

        rerun, rerun_s, rerun_units = timed_run(manifest, out, brief)

        brief.write_text(BRIEF.replace("azimuth: 150", "azimuth: 60"))
        changed, changed_s, changed_units = timed_run(manifest, out, brief)
        expected = {f"{kind}:SKU-{i:04d}/marble/v{v}{suffix}" for i in range(args.skus) for v in (0, 1)
                    for kind, suffix in (("frame", ""), ("qa", ""), *(("export", f"/{p}") for p in PROFILES))}
        exact = set(changed_units) == expected and len(changed_units) == len(expected)
        brief.write_text(BRIEF)

        k = min(args.ray_skus, args.skus)
        small = root / "photos" / "manifest-small.csv"
        small.write_text("\n".join(manifest.read_text().splitlines()[: k + 1]) + "\n")
        local_k, local_k_s, _ = timed_run(small, root / "out-local-small", brief)
        ray_k, ray_k_s, _ = timed_run(small, root / "out-ray-small", brief, engine="ray", ray_cpus=2)
        ratio = (ray_k.frames_done / ray_k_s) / (local_k.frames_done / local_k_s)

    stage_rows = "\n".join(
        f"| {kind} | {s['done']} | {s['seconds']:.1f} | {s['seconds'] / max(s['done'], 1):.2f} |"
        for kind, s in first.stages.items())

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**missed**"

    md = f"""## Catalogue runner

`benchmarks/catalogue.py --skus {args.skus} --ray-skus {args.ray_skus}` on {machine()}; 1-minute load average
at the end: {os.getloadavg()[0]:.1f} (the machine is shared: other work ran at the same time).
{args.skus} generated SKUs at 1024 px x 2 scenes x 2 variants at 1024 x 1024 = {4 * args.skus} frames, each
checked against its master artwork and exported to {" and ".join(PROFILES)}; 2 worker processes,
embedded renderer. (Generating the photos, not timed: {gen_s:.0f} s.)

| measure | result | target | |
|---|---|---|---|
| first run, end to end | {frames} frames in {first_s:.1f} s = **{fpm:.1f} frames/min** | >= {TARGET_FPM:.0f} | {verdict(fpm >= TARGET_FPM)} |
| peak memory (parent + workers, summed RSS) | **{peak_gb:.2f} GB** | <= {TARGET_PEAK_GB:.0f} GB | {verdict(peak_gb <= TARGET_PEAK_GB)} |
| rerun, nothing changed | **{rerun_s:.2f} s** ({len(rerun_units)} units run, {rerun.planned} up to date) | <= {TARGET_RERUN_S:.0f} s | {verdict(rerun_s <= TARGET_RERUN_S and not rerun_units)} |
| one scene's lighting changed | {len(changed_units)} units redone in {changed_s:.1f} s; exactly that scene's frames, QA and exports: {exact} | only that scene | {verdict(exact)} |
| Ray vs local, first {k} SKUs | Ray {ray_k.frames_done} frames in {ray_k_s:.1f} s, local {local_k.frames_done} in {local_k_s:.1f} s: **{ratio:.2f}x** | >= {TARGET_RAY_RATIO} | {verdict(ratio >= TARGET_RAY_RATIO)} |

The two small runs behind the Ray ratio ran one after the other: on a shared machine their load
can differ (a ratio far from 1 says more about the load than about the engines).

Work per stage in the first run (seconds summed over units, both workers):

| stage | units | seconds | s / unit |
|---|---|---|---|
{stage_rows}
"""
    print(md)
    update_section("catalogue", md)


if __name__ == "__main__":
    main()
