"""Benchmark: peak memory and wall time of `packshot run --qa` on large inputs (issue 8, item 14).

Three cases, each one photo x one frame through the real CLI (`packshot run --qa --force`:
segment, understand, condition, render, relight, save, qa), each in a fresh child process that
reports its own peak resident memory (``VmHWM``):

- baseline: a ~12 MP photo (4000 x 3000), one 1024 x 1024 frame;
- a ~100 MP photo (11547 x 8660), one 1024 x 1024 frame;
- the ~12 MP photo, one 8192 x 8192 frame.

Target: peak <= 3 GB (3072 MiB) for the 100 MP photo and for the 8192 x 8192 frame.

The photos are generated on the fly in a temporary folder (a product drawn at 1.5 MP, upscaled
in 8-bit, with sensor-like noise, JPEG quality 90) and removed afterwards. The child also resets
its high-water mark at each stage (``/proc/self/clear_refs``) to report where the memory goes;
the overall peak is the largest of those. Cases run one after another, never in parallel.

    python benchmarks/memory.py [--before SRC] [--src PATH] [--cases 12mp,100mp,8k] [--no-write]

``--src`` measures another checkout's ``src`` (not written). ``--before SRC`` also runs every case
on another ``src`` (e.g. ``git archive <commit> src | tar -x -C /tmp/before``), after the cases of
this checkout, and shows both in the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, machine, update_section  # noqa: F401  (sys.path set there)

import numpy as np

TARGET_MIB = 3072
CASES = {
    "12mp": ("~12 MP photo (4000 x 3000), 1024 x 1024 frame (baseline)", (4000, 3000), "1024x1024"),
    "100mp": ("~100 MP photo (11547 x 8660), 1024 x 1024 frame", (11547, 8660), "1024x1024"),
    "8k": ("~12 MP photo (4000 x 3000), 8192 x 8192 frame", (4000, 3000), "8192x8192"),
}

# Runs in the child: hooks that report every stage's peak, then the real CLI.
CHILD = r'''
import json, sys, time
sys.path.insert(0, SRC)

def status():
    d = {}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS", "VmHWM")):
            k, v = line.split(":")
            d[k] = int(v.split()[0]) / 1024.0
    return d

def reset():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass

stages = []
overall = [0.0]

def hook(module_name, name, label):
    import importlib
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return
    fn = getattr(module, name, None)
    if fn is None:
        return
    def wrapped(*a, **k):
        overall[0] = max(overall[0], status()["VmHWM"])  # the gap before this stage
        reset()
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            s = status()
            overall[0] = max(overall[0], s["VmHWM"])
            stages.append((label, round(time.perf_counter() - t0, 2), round(s["VmHWM"]), round(s["VmRSS"])))
            reset()
    setattr(module, name, wrapped)

t_start = time.perf_counter()
for spec in [
    ("packshot.pipeline", "load_image", "load"),  # before the working-resolution loader
    ("packshot.pipeline", "load_image_working", "load"),
    ("packshot.segment", "segment", "segment"),
    ("packshot.segment.fullres", "save_cutout_full", "save cut-out"),  # first: it binds save_cutout
    ("packshot.segment.io", "save_cutout", "save cut-out"),
    ("packshot.understand", "understand", "understand"),
    ("packshot.understand.io", "save_maps", "save maps"),
    ("packshot.condition", "condition", "condition"),
    ("packshot.render", "render", "render"),
    ("packshot.relight", "relight", "relight"),
    ("packshot.render.io", "save_frame", "save frame"),
    ("packshot.pipeline", "_qa_frame", "qa"),
    ("packshot.imaging", "load_image_working", "load"),  # the catalogue's units import from the faces
    ("packshot.qa", "check_frame_file", "qa"),
]:
    hook(*spec)
from packshot.cli import main
rc = main(ARGV)
wall = time.perf_counter() - t_start
overall[0] = max(overall[0], status()["VmHWM"])
print("RESULT " + json.dumps({"rc": rc, "wall": wall, "peak": overall[0], "stages": stages}))
'''


def make_photo(path: Path, width: int, height: int, seed: int = 5) -> None:
    """A generated packshot at ``width`` x ``height``: drawn at <= 1.5 MP, upscaled in 8 bits
    (never a full-size float copy), with +-2 levels of noise, saved as JPEG quality 90."""
    from PIL import Image

    from packshot.imaging import linear_to_srgb8
    from packshot.samples import make_product

    scale = min(1.0, (1.5e6 / (width * height)) ** 0.5)
    s = make_product("bottle", seed=seed, size=(int(width * scale), int(height * scale)), noise=0.0)
    big = Image.fromarray(linear_to_srgb8(s.image, dither=False)).resize((width, height), Image.BICUBIC)
    arr = np.array(big)
    del big
    rng = np.random.default_rng(0)
    for y in range(0, height, 512):
        blk = arr[y:y + 512].astype(np.int16)
        blk += rng.integers(-2, 3, blk.shape, dtype=np.int16)
        arr[y:y + 512] = np.clip(blk, 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path, quality=90)


def run_case(src: Path, photo: Path, brief: Path, out: Path) -> dict:
    """Run `packshot run --qa --force` in a fresh child; its peak memory, wall time and stages."""
    # --workers 1: the catalogue engine runs in this process (`packshot run` is a catalogue over the
    # job store; with worker processes the child's own peak would miss the work)
    argv = ["run", str(photo), "--brief", str(brief), "--out", str(out), "--qa", "--force", "--workers", "1"]
    code = f"SRC = {str(src)!r}\nARGV = {argv!r}\n" + CHILD
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
            res["stderr"] = proc.stderr[-2000:]
            return res
    raise RuntimeError(f"child failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


def brief_file(folder: Path, size: str) -> Path:
    p = folder / f"brief_{size}.yaml"
    p.write_text(f"name: memory\ndefaults:\n  sizes: [\"{size}\"]\n  variants: 1\n  seed: 3\n"
                 "scenes:\n  - {name: hero, preset: studio-white}\n")
    return p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, default=REPO / "src", help="the packshot sources to measure")
    parser.add_argument("--cases", default="12mp,100mp,8k")
    parser.add_argument("--before", type=Path, default=None, help="another src to measure for comparison")
    parser.add_argument("--before-label", default="before", help="what --before is (named in the table)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave BENCHMARKS.md alone")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            parser.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
    write = not args.no_write and args.src.resolve() == (REPO / "src").resolve() and cases == list(CASES)

    tmp = Path(tempfile.mkdtemp(prefix="packshot-memory-"))
    results: dict[str, dict] = {}
    before: dict[str, dict] = {}
    try:
        photos: dict[tuple[int, int], Path] = {}
        runs = [(args.src, results)] + ([(args.before, before)] if args.before else [])
        for src, into in runs:
            for c in cases:
                size = CASES[c][1]
                if size not in photos:
                    photos[size] = tmp / f"photo_{size[0]}x{size[1]}.jpg"
                    make_photo(photos[size], *size)
                r = run_case(src.resolve(), photos[size], brief_file(tmp, CASES[c][2]), tmp / f"out_{c}")
                shutil.rmtree(tmp / f"out_{c}", ignore_errors=True)
                into[c] = r
                print(f"{src}: {c}: rc {r['rc']}, peak {r['peak']:.0f} MiB, wall {r['wall']:.1f} s", flush=True)
                for label, secs, peak, rss in r["stages"]:
                    print(f"    {label:<13} {secs:7.2f} s  peak {peak:6d} MiB  after {rss:6d} MiB")
                if r["rc"] != 0:
                    print(r["stderr"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0]
    if not write:
        return

    lines = [
        "## Memory: large photos and large frames (issue 8, item 14)",
        "",
        "`benchmarks/memory.py`: `packshot run --qa --force` (segment, understand, condition, render, relight,",
        "save, qa) on one generated photo and one frame, each case in a fresh child process that reports its",
        "own peak resident memory (`VmHWM`); cases run one after another.",
        "",
        "| case | peak RSS | wall | exit | target |"
        + (f" {args.before_label}: peak RSS / wall / exit |" if before else ""),
        "|---|---|---|---|---|" + ("---|" if before else ""),
    ]
    for c in cases:
        r = results[c]
        met = "met" if r["peak"] <= TARGET_MIB else "missed"
        target = f"<= {TARGET_MIB} MiB: **{met}**" if c != "12mp" else "baseline"
        extra = ""
        if before:
            b = before[c]
            extra = f" {b['peak']:.0f} MiB / {b['wall']:.1f} s / {b['rc']} |"
        lines.append(f"| {CASES[c][0]} | {r['peak']:.0f} MiB | {r['wall']:.1f} s | {r['rc']} | {target} |{extra}")
    lines += ["", "Where the memory goes (peak resident memory during each stage, high-water mark reset at each "
              "stage start; wall seconds):", "",
              "| stage | " + " | ".join(c for c in cases) + " |", "|---|" + "---|" * len(cases)]
    labels: list[str] = []
    for c in cases:
        for label, *_ in results[c]["stages"]:
            if label not in labels:
                labels.append(label)
    for label in labels:
        cells = []
        for c in cases:
            rows = [s for s in results[c]["stages"] if s[0] == label]
            cells.append(f"{max(s[2] for s in rows)} MiB / {sum(s[1] for s in rows):.1f} s" if rows else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Photos over {_working_pixels() / 1e6:.0f} MP are analysed at a working resolution (an integer factor; "
        "`packshot.imaging.load_image_working`); `cutout.png` is still written at the photo's size, assembled in "
        "bands (`packshot.segment.fullres`). Frames over 4096 px: placed product kept for its region only, "
        "shadows on a coarser grid, render/relight/encode in place or in bands; qa checks frames over "
        "4096 x 4096 at a working resolution (`packshot.qa.frames.QA_WORKING_PIXELS`). Normal sizes give the "
        "same bytes as before.",
        f"1-minute load average at the end: {load:.1f} on {os.cpu_count()} CPUs (the machine is shared; wall "
        "times include that contention).",
        "Command: `python benchmarks/memory.py`.",
    ]
    update_section("memory", "\n".join(lines))


def _working_pixels() -> int:
    from packshot.imaging import WORKING_PIXELS

    return WORKING_PIXELS


if __name__ == "__main__":
    main()
