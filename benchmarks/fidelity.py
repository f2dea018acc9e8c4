"""Cut-out gate and upright turn: on generated products (where the thresholds were set) and on
every real photo in ``../shared/photos`` (the held-out check).

Sets
----
generated orientation
    Labelled products from :mod:`packshot.samples` (every kind, 3 seeds) photographed turned by
    0, 90, 180 and 270 degrees: the turn found must undo it.
real photos
    Each photo is cut out with the default backend, then gated; the orientation is estimated
    whether or not the gate passes (so it is measured on every photo). Expected turns are labels
    made by eye from the photos (label text reading upright; see ``EXPECTED_TURN``); photos
    without a label or a clear upright are left out of the orientation score. Cut-outs judged
    broken by eye (``BROKEN_BY_EYE``: fragments, a hand kept, a strip of the product, a product
    cut by the frame) must be stopped; the others should pass.

Run: ``.venv/bin/python benchmarks/fidelity.py [--quick]``; writes the ``fidelity`` section of
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_PHOTOS, update_section  # noqa: E402

import numpy as np  # noqa: E402

from packshot.imaging import load_image  # noqa: E402
from packshot.samples import KINDS, make_product  # noqa: E402
from packshot.segment import cutout_from_mask, save_cutout, segment  # noqa: E402
from packshot.segment.gate import gate_cutout  # noqa: E402
from packshot.segment.orientation import estimate_orientation  # noqa: E402
from packshot.segment.review import review_cutout  # noqa: E402

# Clockwise turn that makes the label read upright, labelled by eye from the photos. Every photo
# not listed is upright (0). None: no label text and no clear upright (left out of the score).
EXPECTED_TURN = {
    "apc15_cheezit_box": 180, "apc15_crayola_box": 180, "apc15_elmers_glue": 180, "apc15_expo_eraser": 270,
    "apc15_oreo_bag": 270, "apc15_plush_eggs_net": 0, "apc15_rolodex_mesh_cup": None, "apc15_safety_glasses": 0,
    "apc15_sharpie_blister": 270, "apc15_spark_plug": 90, "apc15_stanley_screwdrivers": 180,
    "apc15_twain_book": 180, "arc17_scissors": None, "arc17_measuring_spoons": None, "arc17_wine_glass": None,
    "arc17_tote_8items": None, "cg_130_transparent_cups": None, "cg_153_transparent_bottles": None,
    "cg_153_opaque_bottles": None,
}
# Default cut-outs that are broken, judged by eye (the four of issue 10 and the others seen).
BROKEN_BY_EYE = {
    "apc15_cheezit_box": "keeps 'BIG' and the crackers", "apc15_oreo_bag": "one strip of the bag",
    "abo_bulb_16pack": "a few fragments of 16 bulbs", "gs_godmorgon_apple_instore": "the hand kept",
    "abo_vitamin_label_text": "glyphs of flat artwork", "abo_vitamin_label_strip": "glyphs of flat artwork",
    "apc15_stanley_screwdrivers": "takes in the desk strip below the card (the card ends a few px above the edge)",
    "apc15_sharpie_blister": "cut by the right edge",
    "cg_130_transparent_cups": "a mug, an apple, a toy and a cup apart on a desk (IoU 0.20 with its mask)",
    "abo_duffel_open": "the black lining kept, the grey outside of the bag dropped",
}
# Of the broken cut-outs, those whose photo the pipeline's routes (fill-the-frame: the product fills
# the frame, the photo's border is the backdrop; edge-strip: a strip of desk at the photo's edge
# taken out) cut out correctly, judged by eye from
# /tmp/fidelity-route/<id>.png; the others must still stop after the route.
ROUTE_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "fidelity-route"
ROUTE_OK_BY_EYE = {"apc15_cheezit_box", "apc15_oreo_bag", "apc15_stanley_screwdrivers"}
ISSUE_FOUR = ("apc15_cheezit_box", "apc15_oreo_bag", "abo_bulb_16pack", "gs_godmorgon_apple_instore")


def generated_orientation(seeds=(0, 1, 2)) -> tuple[int, int, int, list[str]]:
    """(correct, uncertain, total, misses) on labelled generated products turned 0/90/180/270."""
    correct = uncertain = total = 0
    misses = []
    for kind in KINDS:
        for seed in seeds:
            s = make_product(kind, seed=seed, size=(320, 320))
            for k in (0, 90, 180, 270):
                img = np.ascontiguousarray(np.rot90(s.image, k=-(k // 90)))
                mask = np.ascontiguousarray(np.rot90(s.mask, k=-(k // 90)))
                o = estimate_orientation(cutout_from_mask(img, mask, decontaminate=False))
                total += 1
                uncertain += o.uncertain
                if o.turn == (360 - k) % 360 and not o.uncertain:
                    correct += 1
                else:
                    misses.append(f"{kind}/{seed}@{k}->{o.turn}{'?' if o.uncertain else ''}")
    return correct, uncertain, total, misses


HELD_REPORT_SEEDS = range(5000, 5020)
"""Generated held products of the report (seeds 5000+; the tests and the rules used 1000+)."""
HAND_PHOTO = "gs_godmorgon_apple_instore"
HAND_BOX = (0, 12, 235, 348)
"""The box a user draws around the held carton (``packshot cutout --box``)."""


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum()) / max(float((a | b).sum()), 1.0)


def held_products() -> dict:
    """``--exclude-hands`` on generated held cartons (exact masks): mean IoU before / after, per skin tone."""
    from packshot.samples.held import SKIN_TONES, make_held_product
    from packshot.segment.hands import exclude_hands

    rows = []
    for seed in HELD_REPORT_SEEDS:
        s = make_held_product(seed, backdrop=("grey", "white", "color", "warm")[seed % 4], clutter=seed % 3 == 0)
        cut = segment(s.image)
        out, rec = exclude_hands(cut, s.image)
        tone = SKIN_TONES.index(tuple(round(v, 2) for v in s.meta["skin_tone"]))
        rows.append((tone, _iou(cut.alpha, s.mask), _iou(out.alpha, s.mask), rec["regions"] > 0))
    darkest = len(SKIN_TONES) - 1
    found = [r for r in rows if r[0] != darkest]
    dark = [r for r in rows if r[0] == darkest]
    return {"n": len(found), "plain": float(np.mean([r[1] for r in found])), "excluded": float(np.mean([r[2] for r in found])),
            "worst": float(min(r[2] for r in found)), "found": sum(r[3] for r in found), "dark_n": len(dark),
            "dark_found": sum(r[3] for r in dark), "dark_unchanged": sum(abs(r[2] - r[1]) < 1e-9 for r in dark)}


def hand_photo() -> dict:
    """``--exclude-hands`` on the carton held in a shop, without and with a box, through the gate."""
    from packshot.segment.hands import exclude_hands
    from packshot.types import Prompt

    im = load_image(SHARED_PHOTOS / "images" / f"{HAND_PHOTO}.jpg")
    out = {}
    for name, box in (("no box", None), ("box", HAND_BOX)):
        cut = segment(im, prompt=None if box is None else Prompt(box=box))
        excl, rec = exclude_hands(cut, im.rgb, box=box)
        review = review_cutout(excl, orientation="keep", prompted=box is not None)
        out[name] = (review.gate.passed, review.gate.reasons, rec["regions"])
        if review.gate.passed:
            ROUTE_DIR.mkdir(parents=True, exist_ok=True)
            save_cutout(ROUTE_DIR / f"{HAND_PHOTO}-exclude-hands-{name.replace(' ', '-')}.png", excl)
    return out


def real_photos(ids: list[str]) -> list[dict]:
    rows = []
    for pid in ids:
        t0 = time.perf_counter()
        cut = segment(load_image(SHARED_PHOTOS / "images" / f"{pid}.jpg"))
        t1 = time.perf_counter()
        report, text = gate_cutout(cut)
        o = estimate_orientation(cut, text)
        t2 = time.perf_counter()
        expected = EXPECTED_TURN.get(pid, 0)
        final = "rendered"
        if not report.passed:
            # what the pipeline does with it: review_cutout tries the fill-the-frame route
            review = review_cutout(cut)
            final = ("stopped" if not review.gate.passed else
                     "edge-strip" if "edge_strip" in review.gate.metrics else "fill-frame")
            if review.gate.passed:
                ROUTE_DIR.mkdir(parents=True, exist_ok=True)
                save_cutout(ROUTE_DIR / f"{pid}.png", review.cutout)
        rows.append({"final": final, "id": pid, "passed": report.passed, "reasons": report.reasons, "turn": o.turn,
                     "uncertain": o.uncertain, "expected": expected, "segment_s": t1 - t0, "review_s": t2 - t1,
                     "iou2": report.metrics.get("second_estimate_iou")})
        print(pid, report.passed, o.turn, o.uncertain, expected, f"{t1 - t0:.1f}s + {t2 - t1:.1f}s", flush=True)
    return rows


def _short(reasons) -> str:
    out = []
    for r in reasons:
        if "label text" in r:
            out.append("label text missing")
        elif "second estimate" in r:
            out.append("disagrees with GrabCut")
        elif "cut by the" in r:
            out.append(r.split(" of the photo")[0].replace("the product is ", ""))
        elif "separate objects" in r:
            out.append("separate objects")
        elif "left out of it" in r:
            out.append("part left out")
        elif "pieces" in r:
            out.append("fragments")
        elif "scattered" in r:
            out.append("scattered")
        elif "sides" in r:
            out.append("fills the frame")
        else:
            out.append(r[:40])
    return ", ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="the issue's photos and the desk photos only; print, do not write")
    args = ap.parse_args()
    with open(SHARED_PHOTOS / "SOURCES.csv", newline="") as f:
        ids = [r["id"] for r in csv.DictReader(f)]
    if args.quick:
        ids = [i for i in ids if i.startswith("apc15_") or i in ISSUE_FOUR]
    load = os.getloadavg()[0]
    g_ok, g_unc, g_total, g_miss = generated_orientation((0,) if args.quick else (0, 1, 2))
    rows = real_photos(ids)
    held = held_products()
    hand = hand_photo()

    scored = [r for r in rows if r["expected"] is not None]
    o_ok = [r for r in scored if r["turn"] == r["expected"]]
    upright = [r for r in scored if r["expected"] == 0]
    upright_turned = [r for r in upright if r["turn"] != 0]
    turned = [r for r in scored if r["expected"] != 0]
    turned_ok = [r for r in turned if r["turn"] == r["expected"]]
    broken = [r for r in rows if r["id"] in BROKEN_BY_EYE]
    broken_stopped = [r for r in broken if not r["passed"]]
    good = [r for r in rows if r["id"] not in BROKEN_BY_EYE]
    good_stopped = [r for r in good if not r["passed"]]
    four = [r for r in rows if r["id"] in ISSUE_FOUR]
    routed = [r for r in rows if r["final"] in ("fill-frame", "edge-strip")]
    routed_bad = [r for r in routed if r["id"] not in ROUTE_OK_BY_EYE]
    broken_final = [r for r in broken if r["id"] not in ROUTE_OK_BY_EYE]
    broken_final_stopped = [r for r in broken_final if r["final"] == "stopped"]
    route_ok = [r for r in broken if r["id"] in ROUTE_OK_BY_EYE and r["final"] in ("fill-frame", "edge-strip")]
    review_s = sorted(r["review_s"] for r in rows)

    lines = [
        "## Cut-out gate and upright turn (issue 10, items 1 and 3)",
        "",
        "`benchmarks/fidelity.py`: every real photo in `../shared/photos` cut out with `auto`, then gated; "
        "orientation estimated on every photo (also those the gate stops). Thresholds were set on generated "
        "cases (`tests/test_gate.py`, `tests/test_orientation.py`); the real photos are the check, **with one "
        "caveat**: the real-photo cut-outs were looked at while the gate's frame-cut rule and the orientation's "
        "no-text floor and text-over-shape rule were written, so they are not fully held out.",
        "",
        "| set | measure | result | target |",
        "|---|---|---|---|",
        f"| generated labelled products ({len(KINDS)} kinds x {g_total // (4 * len(KINDS))} seeds x 4 turns) | turn correct | "
        f"{g_ok}/{g_total} ({g_unc} uncertain) | all |",
        f"| issue's four broken cut-outs | stopped (needs a prompt) | {sum(not r['passed'] for r in four)}/{len(four)} | 4/4 |",
        f"| cut-outs broken by eye | stopped | {len(broken_stopped)}/{len(broken)} | all |",
        f"| cut-outs fine by eye | passed | {len(good) - len(good_stopped)}/{len(good)} | all |",
        f"| broken cut-outs the fill-the-frame or edge-strip route fixes (by eye: {', '.join(sorted(ROUTE_OK_BY_EYE))}) | "
        f"rendered from the route's cut-out | {len(route_ok)}/{len(ROUTE_OK_BY_EYE)} | all |",
        f"| other broken cut-outs, after the route (the pipeline's path) | stopped | "
        f"{len(broken_final_stopped)}/{len(broken_final)} | all |",
        f"| route taken where its cut-out was not judged correct | count | {len(routed_bad)} | 0 |",
        f"| real photos with an expected turn | turn correct | {len(o_ok)}/{len(scored)} | all |",
        f"| real photos upside down or sideways | turned upright | {len(turned_ok)}/{len(turned)} | all |",
        f"| real photos upright | turned (must be 0) | {len(upright_turned)}/{len(upright)} | 0 |",
        f"| generated held cartons, seeds 5000+ ({held['n']}, skin tones 1-4 of 5) | mean IoU, plain / `--exclude-hands` (worst) | "
        f"{held['plain']:.3f} / {held['excluded']:.3f} ({held['worst']:.3f}); hand found {held['found']}/{held['n']} | >= 0.95 |",
        f"| the same, darkest skin tone ({held['dark_n']}) | hand found / cut-out left unchanged | "
        f"{held['dark_found']}/{held['dark_n']} / {held['dark_unchanged']}/{held['dark_n']} | (outside the skin locus) |",
        f"| {HAND_PHOTO} `--exclude-hands`, no box | gate | {'pass' if hand['no box'][0] else 'needs prompt: ' + _short(hand['no box'][1])} | needs prompt or correct |",
        f"| {HAND_PHOTO} `--exclude-hands --box {','.join(map(str, HAND_BOX))}` | gate | {'pass' if hand['box'][0] else 'needs prompt: ' + _short(hand['box'][1])} | pass (looked at) |",
        f"| review time per photo (gate + orientation) | median / max s | {review_s[len(review_s) // 2]:.1f} / {review_s[-1]:.1f} | |",
        "",
        "| photo | gate | reasons | pipeline | turn found | expected | |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        exp = "-" if r["expected"] is None else str(r["expected"])
        mark = "" if r["expected"] is None else ("ok" if r["turn"] == r["expected"] else "WRONG")
        found = f"{r['turn']}{' (uncertain)' if r['uncertain'] else ''}"
        lines.append(f"| {r['id']} | {'pass' if r['passed'] else 'needs prompt'} | {_short(r['reasons'])} | "
                     f"{r['final']} | {found} | {exp} | {mark} |")
    lines += [
        "",
        "Cut-outs stopped that looked fine: " + (", ".join(f"{r['id']} ({_short(r['reasons'])})" for r in good_stopped) or "none") + ". "
        "Broken ones that passed: " + (", ".join(r["id"] for r in broken if r["passed"]) or "none") + ". "
        "Route taken where not judged correct: " + (", ".join(r["id"] for r in routed_bad) or "none") + ". "
        "Generated misses: " + (", ".join(g_miss) or "none") + ".",
        "",
        "Two false stops come from the text check: the text is read in the union of the cut-out's box and GrabCut's, which in a shop or a net reaches shelf labels or garble beside the product; `cg_153_transparent_bottles` (clear bottles, which GrabCut's colour model barely sees) from the second estimate. Erring that way asks for a prompt; it never renders a broken cut-out. `arc17_tote_8items` (a pile of eight products, no upright) is turned 180 by the text of its items.",
        "",
        f"Times on a shared 2-core machine (load average {load:.1f} at the start): the review reads the "
        "product's box four times with PP-OCR (0/90/180/270; two when the first two settle it) and runs GrabCut "
        "at 384 px.",
    ]
    md = "\n".join(lines)
    if args.quick:
        print(md)
    else:
        update_section("fidelity", md)


if __name__ == "__main__":
    main()
