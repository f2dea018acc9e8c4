"""Cut-out quality and speed: ``auto`` against ``u2netp`` alone, in the same run.

Sets
----
studio
    Generated packshots (``packshot.samples``: every kind, on white, grey and coloured
    backdrops, with sensor noise) plus composites of the masked real objects in
    ``../shared/photos`` (cut with their human masks, placed on white, grey and coloured
    backdrops with a gradient, a soft shadow, sensor noise and JPEG compression).
real
    The real photos with human masks, as shot, with the box of the mask as the prompt.

Metrics: mean IoU of alpha > 0.5 against the ground truth, and the boundary F-measure (the
outlines match within 2 px at 1024 px scale, i.e. 2 x long side / 1024 px). Speed: median wall
time of :func:`packshot.segment.segment` on a decoded photo (and its CPU time), at ~2 MP and at
12 MP; peak memory of a fresh process that loads a 12 MP JPEG and cuts it out.

Run: ``.venv/bin/python benchmarks/cutout.py [--quick]``; writes the ``cutout`` section of
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_PHOTOS, median_time, peak_rss_mb, update_section  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from packshot.imaging import linear_to_srgb, load_image, load_mask, save_image, srgb_to_linear  # noqa: E402
from packshot.samples import KINDS, make_product  # noqa: E402
from packshot.samples.holey import HOLE_KINDS, make_holey_product  # noqa: E402
from packshot.segment import SegmentConfig, segment  # noqa: E402
from packshot.types import Prompt, alpha_bbox  # noqa: E402

MASKED_PHOTOS = ("cg_153_opaque_bottles", "cg_153_transparent_bottles", "cg_130_transparent_cups", "arc17_tote_8items")
BACKDROPS = {"white": (0.96, 0.96, 0.96), "grey": (0.70, 0.70, 0.71), "colour": (0.60, 0.76, 0.86)}
METHODS = ("auto", "u2netp")


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------
def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """IoU of alpha > 0.5."""
    p, t = pred > 0.5, truth > 0.5
    union = float((p | t).sum())
    return float((p & t).sum()) / union if union else 1.0


def _outline(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8))).astype(bool)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tol_at_1024: float = 2.0) -> float:
    """Boundary F-measure: outline pixels matched within ``tol_at_1024`` px at 1024 px scale."""
    p, t = pred > 0.5, truth > 0.5
    tol = tol_at_1024 * max(p.shape) / 1024.0
    bp, bt = _outline(p), _outline(t)
    if not bp.any() or not bt.any():
        return float(bp.any() == bt.any())
    dist_to_t = cv2.distanceTransform((~bt).astype(np.uint8), cv2.DIST_L2, 5)
    dist_to_p = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, 5)
    precision = float((dist_to_t[bp] <= tol).mean())
    recall = float((dist_to_p[bt] <= tol).mean())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def jpeg_roundtrip(linear: np.ndarray, quality: int = 88) -> np.ndarray:
    from packshot.imaging import decode_image, encode_image

    return decode_image(encode_image(linear, "JPEG", quality=quality), "<jpeg>").rgb


def composite(photo_id: str, backdrop: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A masked real object on a studio backdrop with a gradient, a soft shadow, noise and JPEG."""
    rng = np.random.default_rng(seed)
    img = load_image(SHARED_PHOTOS / "images" / f"{photo_id}.jpg").rgb
    mask = load_mask(SHARED_PHOTOS / "masks" / f"{photo_id}.png")
    h, w = mask.shape
    x0, y0, x1, y1 = alpha_bbox(mask)
    # place the object (its mask box) on a canvas it fills 45-80 % of, anywhere with a margin
    obj_w, obj_h = x1 - x0, y1 - y0
    fill = float(rng.uniform(0.45, 0.80))
    side = int(max(obj_w, obj_h) / fill)
    cw, ch = min(max(side, obj_w + 16), 1600), min(max(int(side * 0.8), obj_h + 16), 1600)
    cx = int(rng.integers(8, max(9, cw - obj_w - 8)))
    cy = int(rng.integers(8, max(9, ch - obj_h - 8)))
    alpha = np.zeros((ch, cw), np.float32)
    fg = np.zeros((ch, cw, 3), np.float32)
    alpha[cy:cy + obj_h, cx:cx + obj_w] = mask[y0:y1, x0:x1]
    fg[cy:cy + obj_h, cx:cx + obj_w] = img[y0:y1, x0:x1]
    # backdrop: colour with a vertical fall-off and a soft vignette (sRGB), to linear
    base = np.array(BACKDROPS[backdrop], np.float32)
    yy = np.linspace(0, 1, ch, dtype=np.float32)[:, None, None]
    xx = np.linspace(-1, 1, cw, dtype=np.float32)[None, :, None]
    back = srgb_to_linear(np.clip(base * (1 - 0.07 * yy) * (1 - 0.04 * xx**2), 0, 1))
    # soft drop shadow: the silhouette shifted down-right, blurred, darkening the backdrop
    shift = np.float32([[1, 0, 0.015 * cw], [0, 1, 0.025 * ch]])
    sh = cv2.warpAffine(alpha, shift, (cw, ch))
    sigma = 0.02 * max(cw, ch)
    sh = cv2.GaussianBlur(sh, (0, 0), sigma)
    back = back * (1 - 0.45 * sh[..., None])
    out = fg * alpha[..., None] + back * (1 - alpha[..., None])
    s = linear_to_srgb(out) + rng.normal(0, 0.008, out.shape).astype(np.float32)
    out = srgb_to_linear(np.clip(s, 0, 1))
    return jpeg_roundtrip(out, quality=88), alpha


def studio_set(size: int, quick: bool) -> list[tuple[str, np.ndarray, np.ndarray]]:
    items = []
    kinds = KINDS[:2] if quick else KINDS
    for bi, backdrop in enumerate(("white", "grey", "color")):
        for ki, kind in enumerate(kinds):
            seed = 100 + 10 * bi + ki
            s = make_product(kind, seed=seed, size=(size, size), backdrop=backdrop, noise=0.01,
                             scale=0.45 + 0.08 * ((ki + bi) % 5))
            items.append((f"{kind}/{backdrop}", jpeg_roundtrip(s.image, 90), s.mask))
    photos = MASKED_PHOTOS[:2] if quick else MASKED_PHOTOS
    for pi, pid in enumerate(photos):
        for bi, backdrop in enumerate(BACKDROPS):
            img, alpha = composite(pid, backdrop, seed=pi * 7 + bi)
            items.append((f"{pid}/{backdrop}", img, alpha))
    return items


def evaluate(items, prompt_from_mask: bool = False) -> dict[str, list[tuple[str, float, float, float]]]:
    results: dict[str, list] = {m: [] for m in METHODS}
    config = SegmentConfig()
    for name, img, truth in items:
        prompt = Prompt(box=alpha_bbox(truth)) if prompt_from_mask else None
        for method in METHODS:
            t0 = time.perf_counter()
            cut = segment(img, config, backend=method, prompt=prompt)
            dt = time.perf_counter() - t0
            results[method].append((name, iou(cut.alpha, truth), boundary_f(cut.alpha, truth), dt))
        print(f"  {name:40s} " + "  ".join(f"{m}: IoU {results[m][-1][1]:.3f} bF {results[m][-1][2]:.3f}"
                                         for m in METHODS), flush=True)
    return results


HOLES_REPORT_SEED = 5000
"""Seed base of the generated holes set reported in BENCHMARKS.md. The thresholds of
:mod:`packshot.segment.holes` were set on seeds 1000-1024 (the tuning set), never on these."""


WHITE_ON_WHITE = "white-on-white"


def white_on_white_seeds(n: int) -> list[tuple[str, int]]:
    """``n`` (kind, seed) pairs, seeds from HOLES_REPORT_SEED + 100 on, whose product is white
    (near-neutral paper): bottle, box and jar in turn. The palette is make_product's first draw."""
    from packshot.samples import _PALETTES

    out, seed = [], HOLES_REPORT_SEED + 100
    kinds = ("bottle", "box", "jar")
    while len(out) < n:
        paper = _PALETTES[int(np.random.default_rng(seed).integers(len(_PALETTES)))][1]
        if min(paper) >= 0.94 and max(paper) - min(paper) <= 0.03:
            out.append((kinds[len(out) % len(kinds)], seed))
        seed += 1
    return out


def holes_set(quick: bool) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Products with holes and thin parts: generated ones (exact masks) at 768-1536 px on white,
    grey and coloured backdrops, plus the masked real objects composited on studio backdrops."""
    items = []
    kinds = HOLE_KINDS[:2] if quick else HOLE_KINDS
    sizes = (768, 1024, 1536)
    for bi, backdrop in enumerate(("white", "grey", "color")):
        for ki, kind in enumerate(kinds):
            seed = HOLES_REPORT_SEED + 10 * bi + ki
            side = sizes[(bi + ki) % len(sizes)]
            s = make_holey_product(kind, seed=seed, size=(side, side), backdrop=backdrop, noise=0.01)
            items.append((f"{kind}/{backdrop}/{side}", jpeg_roundtrip(s.image, 90), s.mask))
    # white on white: a white bottle, box or jar on the white sweep, with no hole at all (its lit
    # side is as bright as the backdrop: a hole rule must not open it)
    for i, (kind, seed) in enumerate(white_on_white_seeds(1 if quick else 3)):
        side = sizes[i % len(sizes)]
        s = make_product(kind, seed=seed, size=(side, side), backdrop="white", noise=0.01)
        items.append((f"{WHITE_ON_WHITE}/{kind}/{side}", jpeg_roundtrip(s.image, 90), s.mask))
    photos = MASKED_PHOTOS[:1] if quick else MASKED_PHOTOS
    for pi, pid in enumerate(photos):
        for bi, backdrop in enumerate(BACKDROPS):
            img, alpha = composite(pid, backdrop, seed=500 + pi * 7 + bi)
            items.append((f"{pid}/{backdrop}", img, alpha))
    return items


def holes_section(quick: bool) -> str:
    """The "holes and thin parts" section: auto and u2netp alone, per subset."""
    res = evaluate(holes_set(quick))

    def mean(rows, i):
        return statistics.fmean(r[i] for r in rows) if rows else float("nan")

    def sub(rows, generated: bool | None):
        # True: holey products, False: real-object composites, None: white on white
        if generated is None:
            return [r for r in rows if r[0].split("/")[0] == WHITE_ON_WHITE]
        return [r for r in rows if r[0].split("/")[0] != WHITE_ON_WHITE
                and (r[0].split("/")[0] in HOLE_KINDS) == generated]

    lines = [
        "## Cut-out: holes and thin parts (`benchmarks/cutout.py --holes`)",
        "",
        f"{len(sub(res['auto'], True))} generated products with holes and thin parts "
        "(`packshot.samples.make_holey_product`: mug handles, key rings, wire-rimmed glasses, wire frames, chains; "
        "exact masks; 768, 1024 and 1536 px; white, grey and coloured backdrops with a gradient, a soft drop shadow seen "
        "through the holes, noise and JPEG q90), "
        f"{len(sub(res['auto'], None))} generated white products (bottle, box, jar) on the white sweep with no hole "
        "(their lit side is as bright as the backdrop: no hole rule may open it), "
        f"seeds {HOLES_REPORT_SEED}+ (the hole thresholds were set on seeds 1000-1024, a different set; the glass rule on "
        "arc17_wine_glass and arc17_water_bottle, not in this set; the shadow-strip rule's shares by geometry, checked "
        "for no regression on seeds 1000+, the studio set and the real photos with a box prompt), and "
        f"{len(sub(res['auto'], False))} composites of the masked real objects of ../shared/photos on white, grey and coloured "
        "backdrops (other placements than the studio set). Boundary F: outlines within 2 px at 1024 px scale.",
        "",
        "| subset | metric | auto | u2netp | target (auto) |",
        "|---|---|---|---|---|",
    ]
    for label, gen in (("generated holes / thin parts", True), ("white on white, no hole", None),
                       ("real-object composites", False)):
        a, u = sub(res["auto"], gen), sub(res["u2netp"], gen)
        lines.append(f"| {label} ({len(a)}) | mean IoU / bF | {mean(a, 1):.3f} / {mean(a, 2):.3f} | "
                     f"{mean(u, 1):.3f} / {mean(u, 2):.3f} | |")
    lines.append(f"| all ({len(res['auto'])}) | mean IoU / bF | {mean(res['auto'], 1):.3f} / {mean(res['auto'], 2):.3f} | "
                 f"{mean(res['u2netp'], 1):.3f} / {mean(res['u2netp'], 2):.3f} | >= 0.96 / >= 0.92 |")
    lines += ["", "Per kind (auto IoU / bF, mean over backdrops): " + ", ".join(
        f"{k} {mean([r for r in res['auto'] if r[0].startswith(k + '/')], 1):.3f} / "
        f"{mean([r for r in res['auto'] if r[0].startswith(k + '/')], 2):.3f}"
        for k in (HOLE_KINDS[:2] if quick else HOLE_KINDS)) + "."]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# speed and memory
# ---------------------------------------------------------------------------------------------
def speed_image(width: int, height: int) -> np.ndarray:
    """A generated packshot at ``width`` x ``height`` (drawn at <= 1.5 MP and upscaled, with noise)."""
    scale = min(1.0, (1.5e6 / (width * height)) ** 0.5)
    s = make_product("bottle", seed=5, size=(int(width * scale), int(height * scale)), noise=0.0)
    img = s.image
    if scale < 1.0:
        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(0)
    srgb = linear_to_srgb(np.clip(img, 0, 1)) + rng.normal(0, 0.008, img.shape).astype(np.float32)
    return srgb_to_linear(np.clip(srgb, 0, 1))


def model_time(repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of one u2netp inference (320 x 320), the fixed cost of both methods."""
    from packshot.segment.u2netp import u2netp_model

    model = u2netp_model()
    small = speed_image(320, 320)
    cpu0 = time.process_time()
    med, _ = median_time(lambda: model.saliency(small), repeats=repeats, warmup=1)
    return med, (time.process_time() - cpu0) / (repeats + 1)


def timing(width: int, height: int, repeats: int) -> dict[str, float]:
    from packshot.imaging import decode_image, encode_image

    # as the CLI calls it: a decoded JPEG (LoadedImage, hashed from its file bytes at load)
    img = decode_image(encode_image(speed_image(width, height), "JPEG", quality=92), f"{width}x{height}.jpg")
    out = {}
    for method in METHODS:
        cpu0 = time.process_time()
        med, samples = median_time(lambda: segment(img, backend=method), repeats=repeats, warmup=1)
        cpu = (time.process_time() - cpu0) / (repeats + 1)
        out[method] = med
        out[f"{method}_cpu"] = cpu
    return out


def peak_memory_12mp(folder: Path) -> float:
    """Peak RSS of a fresh process that loads a 12 MP JPEG and cuts it out.

    Call it while this process is small: a child started by fork() begins with its parent's
    resident pages counted in its ``ru_maxrss``.
    """
    path = folder / "12mp.jpg"
    save_image(path, speed_image(4000, 3000), quality=90)
    code = (
        "from packshot.imaging import load_image\n"
        "from packshot.segment import segment\n"
        f"img = load_image({str(path)!r})\n"
        "cut = segment(img)\n"
        "assert cut.alpha.shape == (3000, 4000)\n"
    )
    return peak_rss_mb(code)


# ---------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small subset (smoke run; does not write BENCHMARKS.md)")
    ap.add_argument("--no-timing", action="store_true", help="quality only (with --quick)")
    ap.add_argument("--size", type=int, default=768, help="side of the generated packshots")
    ap.add_argument("--holes", action="store_true", help="only the holes and thin parts section (cutout-holes)")
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".venv" / "numba-cache"))
    if args.holes:
        md = holes_section(args.quick)
        if args.quick:
            print(md)
        else:
            update_section("cutout-holes", md)
        return

    # memory first, while this process is small (see peak_memory_12mp)
    with tempfile.TemporaryDirectory() as tmp:
        peak = peak_memory_12mp(Path(tmp))
    print(f"peak RSS at 12 MP: {peak:.0f} MiB")
    print("studio set")
    studio = evaluate(studio_set(args.size, args.quick))
    print("real photos with the mask's box as prompt")
    real_items = []
    for pid in MASKED_PHOTOS:
        real_items.append((pid, load_image(SHARED_PHOTOS / "images" / f"{pid}.jpg").rgb,
                           load_mask(SHARED_PHOTOS / "masks" / f"{pid}.png")))
    real = evaluate(real_items, prompt_from_mask=True)

    if args.no_timing:
        for name, res in (("studio", studio), ("real", real)):
            for m in METHODS:
                print(name, m, "IoU %.4f bF %.4f" % (statistics.fmean(r[1] for r in res[m]), statistics.fmean(r[2] for r in res[m])))
        return
    print("timing")
    load = os.getloadavg()[0]
    t2 = timing(1632, 1224, repeats=3 if args.quick else 5)
    t12 = timing(4000, 3000, repeats=1 if args.quick else 3)
    t_model, t_model_cpu = model_time(repeats=3 if args.quick else 7)
    load_after = os.getloadavg()[0]

    def mean(rows, i):
        return statistics.fmean(r[i] for r in rows)

    def subset(rows, generated: bool):
        return [r for r in rows if (r[0].split("/")[0] in KINDS) == generated]

    lines = [
        "## Cut-out (`benchmarks/cutout.py`)",
        "",
        "`auto` (backdrop model + u2netp saliency + edge matting) against `u2netp` alone (rembg-style), same run.",
        f"Studio set: {len(studio['auto'])} images ({len(subset(studio['auto'], True))} generated packshots, 45-77 % of the frame high, on white, grey "
        f"and coloured backdrops with noise and JPEG; {len(subset(studio['auto'], False))} composites of the masked "
        "real objects in ../shared/photos, filling 45-80 % of the frame at a random place, on white/grey/coloured backdrops with a gradient, soft shadow, noise and JPEG q88).",
        "Boundary F: outlines within 2 px at 1024 px scale.",
        "",
        "| set | metric | auto | u2netp | target (auto) |",
        "|---|---|---|---|---|",
        f"| studio (all) | mean IoU | {mean(studio['auto'], 1):.3f} | {mean(studio['u2netp'], 1):.3f} | >= 0.96 |",
        f"| studio (all) | mean boundary F | {mean(studio['auto'], 2):.3f} | {mean(studio['u2netp'], 2):.3f} | >= 0.92 |",
        f"| studio, generated | mean IoU / bF | {mean(subset(studio['auto'], True), 1):.3f} / {mean(subset(studio['auto'], True), 2):.3f} "
        f"| {mean(subset(studio['u2netp'], True), 1):.3f} / {mean(subset(studio['u2netp'], True), 2):.3f} | |",
        f"| studio, real-object composites | mean IoU / bF | {mean(subset(studio['auto'], False), 1):.3f} / {mean(subset(studio['auto'], False), 2):.3f} "
        f"| {mean(subset(studio['u2netp'], False), 1):.3f} / {mean(subset(studio['u2netp'], False), 2):.3f} | |",
        f"| real photos, box prompt ({len(real['auto'])}) | mean IoU | {mean(real['auto'], 1):.3f} | {mean(real['u2netp'], 1):.3f} | >= 0.80 |",
        f"| real photos, box prompt | mean boundary F | {mean(real['auto'], 2):.3f} | {mean(real['u2netp'], 2):.3f} | |",
        f"| 1632x1224 (2.0 MP) | median s / CPU s per image | {t2['auto']:.2f} / {t2['auto_cpu']:.2f} | {t2['u2netp']:.2f} / {t2['u2netp_cpu']:.2f} | <= 0.5 s |",
        f"| 4000x3000 (12 MP) | median s / CPU s per image | {t12['auto']:.2f} / {t12['auto_cpu']:.2f} | {t12['u2netp']:.2f} / {t12['u2netp_cpu']:.2f} | <= 1.5 s |",
        f"| u2netp inference alone (320x320, in both) | median s / CPU s | {t_model:.2f} / {t_model_cpu:.2f} | same | |",
        f"| 12 MP JPEG, load + auto | peak RSS (fresh process) | {peak:.0f} MiB | | <= 2048 MiB |",
        "",
        "Per real photo (box prompt), IoU auto / u2netp: "
        + ", ".join(f"{a[0]} {a[1]:.3f} / {u[1]:.3f}" for a, u in zip(real["auto"], real["u2netp"])) + ".",
        "",
        f"Timing is `segment()` on a decoded JPEG (`LoadedImage`, as the CLI passes it; decode excluded), median of 5 (2 MP) / 3 (12 MP) runs "
        f"after a warm-up; CPU s is process CPU time per run (all threads). The machine is shared: load "
        f"average {load:.1f} before and {load_after:.1f} after timing on its cores, so wall times are inflated "
        f"by other work; CPU time is the steadier figure.",
    ]
    md = "\n".join(lines)
    if args.quick:
        print(md)
    else:
        update_section("cutout", md)


if __name__ == "__main__":
    main()
