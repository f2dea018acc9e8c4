"""qa: detection and false alarms on generated frames with planted defects.

Every case is a generated product (samples.make_product) cut out with its exact alpha, rendered and
relit by the real stages (condition -> render "studio" -> relight) on a random preset (several with
glossy floors and reflections), light direction and colour temperature, then one defect planted in
the finished frame (packshot.qa.planted): a dosage digit changed, a word removed, a word invented,
the brand line bent by 2 % of its width, the cap / top region grown by 5 %, a CIELAB shift of mean
deltaE2000 4. An untouched frame must pass; a defect is caught when the verdict is review or fail,
and "by its check" when the check meant for it is among the reasons.

Flat-lay section: every kind on each of the five flat-lay presets, lit by the preset's own key (top
left), untouched and with every defect above plus ``shadow-growth`` (the side the drop shadow falls
beyond grown by 5 %, drawn over the shadow). Flat-lay frames declare their shadow layer
(:func:`packshot.render.declared_shadow`) and QA is given it, as the pipeline does from the sidecar.

    .venv/bin/python benchmarks/qa.py [--seeds 3] [--size 512] [--engine pipeline|stand-in] [--flatlay-seeds 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

from _common import SHARED_PHOTOS, update_section

from packshot.qa import QAConfig, qa
from packshot.qa.planted import DEFECTS, FLATLAY_DEFECTS, make_case
from packshot.samples import KINDS

INTENDED = {"digit": "text", "word-removed": "text", "word-invented": "text", "logo-bend": "geometry.local_warp",
            "cap-growth": "silhouette.growth", "colour": "colour.mean_de", "shadow-growth": "silhouette.growth"}
METRIC = {"untouched": None, "digit": None, "word-removed": None, "word-invented": None,
          "logo-bend": ("geometry", "local_warp_px"), "cap-growth": ("silhouette", "max_growth_px"),
          "colour": ("colour", "mean_de"), "shadow-growth": ("silhouette", "max_growth_px")}
FLATLAY_PRESETS = ("flatlay-white", "flatlay-paper", "flatlay-linen", "flatlay-wood", "flatlay-stone")


REAL_PHOTOS = ("abo_vitamin_bottle", "apc15_cheezit_box", "arc17_windex", "apc15_elmers_glue", "apc15_crayola_box",
               "arc17_irish_spring", "arc17_kleenex_box", "apc15_oreo_bag")
"""Real packshots with printed text (../shared/photos): segmented, rendered, relit, checked without a master."""


def real_photo_untouched(size: int) -> list[str]:
    """False alarms on real products: nothing is planted, so every non-pass is a false alarm."""
    import numpy as np

    from packshot.imaging import load_image, resize_linear
    from packshot.qa.frames import warp_premultiplied
    from packshot.qa.planted import _pipeline_frame
    from packshot.segment import segment

    lines = []
    for i, pid in enumerate(REAL_PHOTOS):
        path = SHARED_PHOTOS / "images" / f"{pid}.jpg"
        rgb = load_image(path).rgb
        h, w = rgb.shape[:2]
        scale = size / max(h, w)
        if scale < 1:
            rgb = resize_linear(rgb, (int(w * scale), int(h * scale)))
        cut = segment(rgb)
        pf = _pipeline_frame(cut.rgb, cut.alpha, size, np.random.default_rng([i, 5]))
        ref, ref_alpha = warp_premultiplied(cut.rgb, cut.alpha, pf.matrix, (size, size))
        report = qa(pf.rgb, pf.product_alpha, ref, ref_alpha, None, shadow=pf.shadow)
        preset = pf.preset
        lines.append((pid, preset, report.verdict, "; ".join(report.reasons)))
        print(f"real {pid:22s} {preset:12s} {report.verdict}", flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--engine", default="pipeline", choices=("pipeline", "stand-in"))
    ap.add_argument("--no-write", action="store_true", help="print only, do not update BENCHMARKS.md")
    ap.add_argument("--no-real", action="store_true", help="skip the real photos")
    ap.add_argument("--extra-untouched-seeds", type=int, default=3,
                    help="more seeds per kind with only the untouched frame (a firmer false-alarm count)")
    ap.add_argument("--flatlay-seeds", type=int, default=1,
                    help="seeds per kind and flat-lay preset in the flat-lay section (0: skip it)")
    ap.add_argument("--flatlay-only", action="store_true", help="run only the flat-lay section (and real photos)")
    args = ap.parse_args()
    config = QAConfig()
    verdicts: dict[str, list[str]] = defaultdict(list)
    by_check: dict[str, int] = defaultdict(int)
    values: dict[str, list[float]] = defaultdict(list)
    untouched_max: dict[str, float] = defaultdict(float)
    misses: list[str] = []
    alarms: list[str] = []
    times: list[float] = []
    t_start = time.perf_counter()
    plan = [(kind, seed, defect) for kind in KINDS for seed in range(100, 100 + args.seeds) for defect in DEFECTS]
    plan += [(kind, seed, "untouched") for kind in KINDS
             for seed in range(200, 200 + args.extra_untouched_seeds)]
    if args.flatlay_only:
        plan = []
    shadowed = 0
    for kind, seed, defect in plan:
        case = make_case(kind, seed, defect, size=args.size, engine=args.engine)
        shadowed += case.shadow is not None
        t0 = time.perf_counter()
        report = qa(case.frame_rgb, case.product_alpha, case.reference_rgb, case.reference_alpha,
                    case.master, config, shadow=case.shadow)
        times.append(time.perf_counter() - t0)
        verdicts[defect].append(report.verdict)
        m = report.metrics
        if defect == "untouched":
            for group, key in (("silhouette", "max_growth_px"), ("silhouette", "max_shrink_px"),
                               ("colour", "mean_de"), ("colour", "p95_de"), ("geometry", "local_warp_px"),
                               ("geometry", "drift_px")):
                untouched_max[f"{group}.{key}"] = max(untouched_max[f"{group}.{key}"], float(m[group][key]))
            untouched_max["colour.ssim (min)"] = min(untouched_max.get("colour.ssim (min)", 1.0),
                                                     float(m["colour"]["ssim"]))
            if report.verdict != "pass":
                alarms.append(f"{kind}/{seed}: {report.verdict} ({'; '.join(report.reasons)[:160]})")
        else:
            caught = report.verdict != "pass"
            if any(r.startswith(INTENDED[defect]) for r in report.reasons):
                by_check[defect] += 1
            if not caught:
                misses.append(f"{defect} {kind}/{seed}: {case.notes}")
        if METRIC[defect]:
            g, k = METRIC[defect]
            values[defect].append(float(m[g][k]))
        print(f"{kind:6s} {seed} {defect:13s} {report.verdict:6s} {times[-1]:.2f}s  {case.notes[:70]}", flush=True)
    flat = flatlay_section(args, config) if args.flatlay_seeds > 0 and args.engine == "pipeline" else None
    real = [] if args.no_real else real_photo_untouched(640)
    wall = time.perf_counter() - t_start
    total = sum(len(v) for v in verdicts.values())

    rows = defect_rows(DEFECTS, verdicts, by_check, values)
    worst = ", ".join(f"{k} {v:.2f}" for k, v in sorted(untouched_max.items()))
    detected = sum(len(verdicts[d]) - verdicts[d].count("pass") for d in DEFECTS if d != "untouched")
    n_defect = sum(len(verdicts[d]) for d in DEFECTS if d != "untouched")
    md = [] if args.flatlay_only else [
        f"`python benchmarks/qa.py --seeds {args.seeds} --size {args.size} --engine {args.engine}`: "
        f"{total} cases = {len(KINDS)} kinds x {args.seeds} seeds x {len(DEFECTS)} (untouched + 6 defects) + "
        f"{len(KINDS)} kinds x {args.extra_untouched_seeds} more seeds untouched only, "
        f"{args.size} px frames, "
        + ("rendered and relit by the real condition/render/relight stages (random preset, light, colour temperature)."
           if args.engine == "pipeline" else "stand-in studio sweep and relight (shading, tint, light wrap, grain)."),
        "",
        f"**Detected {detected}/{n_defect} planted defects; false alarms on untouched frames: "
        f"{len(alarms)}/{len(verdicts['untouched'])}.**",
        "",
        *rows,
        "",
        f"Worst values on untouched frames (thresholds: growth {config.growth_review_px} px, shrink "
        f"{config.shrink_review_px} px, mean dE {config.mean_de_review}, p95 dE {config.p95_de_review}, warp "
        f"{config.warp_review_px} px, drift {config.drift_review_px} px, SSIM {config.ssim_review}): {worst}.",
        "",
        f"qa time per frame (512 px, OCR of the frame's product included; master OCR cached per SKU): median "
        f"{statistics.median(times):.2f} s, max {max(times):.2f} s; whole run {wall:.0f} s. "
        f"{shadowed} of these frames are flat-lays that declare their shadow layer (QA models it).",
    ]
    if flat:
        md += ["", *flat]
    if real:
        n_bad = sum(v != "pass" for _, _, v, _ in real)
        md += ["", f"Real photos with printed text ({len(real)} from ../shared/photos, 640 px, segmented by "
               f"`segment`, rendered and relit, checked without a master, nothing planted): **{n_bad} false "
               f"alarm(s)**.", "", "| photo | preset | verdict | reasons |", "|---|---|---|---|"]
        md += [f"| {pid} | {preset} | {v} | {why[:220].replace('|', '/')} |" for pid, preset, v, why in real]
    if misses:
        md += ["", "Missed:", *[f"- {m}" for m in misses]]
    if alarms:
        md += ["", "False alarms:", *[f"- {a}" for a in alarms]]
    text = "\n".join(md)
    if args.no_write or args.flatlay_only:  # a partial run never rewrites the section
        print(text)
    else:
        update_section("qa", text)


def defect_rows(defects, verdicts, by_check, values) -> list[str]:
    """The per-defect table: cases, caught, failed, caught by the check meant for it, measured values."""
    rows = ["| defect | cases | caught (review or fail) | fail | by its own check | measured |",
            "|---|---|---|---|---|---|"]
    for defect in defects:
        v = verdicts[defect]
        n = len(v)
        measured = ""
        if METRIC[defect] and values[defect]:
            vals = values[defect]
            measured = f"{METRIC[defect][1]} min {min(vals):.2f} / median {statistics.median(vals):.2f}"
            if defect == "untouched":
                measured = f"{METRIC[defect][1]} max {max(vals):.2f}"
        if defect == "untouched":
            rows.append(f"| untouched (must pass) | {n} | false alarms: {n - v.count('pass')} | "
                        f"{v.count('fail')} | - | {measured or '-'} |")
        else:
            caught = n - v.count("pass")
            rows.append(f"| {defect} | {n} | {caught}/{n} | {v.count('fail')} | {by_check[defect]}/{n} | {measured} |")
    return rows


def flatlay_section(args, config) -> list[str]:
    """Every kind on every flat-lay preset (the preset's own key), untouched and with every defect
    including shadow-side growth; QA given the frame's declared shadow. Returns the section's lines."""
    verdicts: dict[str, list[str]] = defaultdict(list)
    by_check: dict[str, int] = defaultdict(int)
    values: dict[str, list[float]] = defaultdict(list)
    misses, alarms, times = [], [], []
    per_preset: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # caught, defects, alarms, untouched
    for preset in FLATLAY_PRESETS:
        for kind in KINDS:
            for seed in range(300, 300 + args.flatlay_seeds):
                for defect in FLATLAY_DEFECTS:
                    case = make_case(kind, seed, defect, size=args.size, engine="pipeline", preset=preset,
                                     preset_light=True)
                    assert case.shadow is not None, f"{preset}: a flat-lay frame declares its shadow"
                    t0 = time.process_time()
                    report = qa(case.frame_rgb, case.product_alpha, case.reference_rgb, case.reference_alpha,
                                case.master, config, shadow=case.shadow)
                    times.append(time.process_time() - t0)
                    verdicts[defect].append(report.verdict)
                    st = per_preset[preset]
                    if defect == "untouched":
                        values["untouched"].append(float(report.metrics["silhouette"]["max_growth_px"]))
                        st[3] += 1
                        if report.verdict != "pass":
                            st[2] += 1
                            alarms.append(f"{preset} {kind}/{seed}: {report.verdict} "
                                          f"({'; '.join(report.reasons)[:160]})")
                    else:
                        st[1] += 1
                        st[0] += report.verdict != "pass"
                        if any(r.startswith(INTENDED[defect]) for r in report.reasons):
                            by_check[defect] += 1
                        if report.verdict == "pass":
                            misses.append(f"{preset} {defect} {kind}/{seed}: {case.notes}")
                    if METRIC[defect] and defect != "untouched":
                        g, k = METRIC[defect]
                        values[defect].append(float(report.metrics[g][k]))
                    print(f"flat {preset:14s} {kind:6s} {seed} {defect:13s} {report.verdict:6s} {times[-1]:.2f} CPU s "
                          f"{case.notes[:60]}", flush=True)
    n_def = sum(len(verdicts[d]) for d in FLATLAY_DEFECTS if d != "untouched")
    caught = sum(len(verdicts[d]) - verdicts[d].count("pass") for d in FLATLAY_DEFECTS if d != "untouched")
    n_un = len(verdicts["untouched"])
    alarms_n = n_un - verdicts["untouched"].count("pass")
    md = [f"**Flat-lay presets** (`--flatlay-seeds {args.flatlay_seeds}`): {len(KINDS)} kinds x "
          f"{len(FLATLAY_PRESETS)} flat-lay presets x {args.flatlay_seeds} seed(s) x {len(FLATLAY_DEFECTS)} "
          f"(untouched + 7 defects, `shadow-growth` = the side the drop shadow falls beyond grown by 5 %, drawn "
          f"over the shadow), each preset lit by its own key (top left, so the drop shadow falls to the bottom "
          f"right, across the base); QA given the frame's declared shadow layer. **Detected {caught}/{n_def}; "
          f"false alarms {alarms_n}/{n_un}.**", "",
          *defect_rows(FLATLAY_DEFECTS, verdicts, by_check, values), "",
          "| preset | defects caught | false alarms |", "|---|---|---|",
          *[f"| {p} | {c}/{n} | {a}/{u} |" for p, (c, n, a, u) in per_preset.items()], "",
          f"qa CPU time per flat-lay frame (process CPU, all threads): median {statistics.median(times):.2f} s."]
    if misses:
        md += ["", "Missed (flat-lay):", *[f"- {m}" for m in misses]]
    if alarms:
        md += ["", "False alarms (flat-lay):", *[f"- {a}" for a in alarms]]
    return md


if __name__ == "__main__":
    main()
