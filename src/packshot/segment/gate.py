"""The cut-out gate: is this cut-out plausibly the whole product, and only it?

:func:`gate_cutout` measures a :class:`~packshot.types.Cutout` before anything is rendered from it:

* **fragmentation**: how many sizeable pieces the mask falls into, the largest piece's share of
  the mask, and solidity (mask area over its convex hull's);
* **separate objects**: an object-sized piece (>= 10 % of the mask) farther from every other
  than its own size is one of several objects spread over the photo (a desk with a mug, a cup
  and a toy): which one is the product? (not asked of a prompted cut-out);
* **part of the product left out**: on a plain backdrop (seamless paper, a sweep, read on the
  photo's border), pixels clearly not the backdrop that touch the cut-out but are left out of
  it (a grey bag whose black lining alone was kept: GrabCut makes the same mistake, so the
  second estimate cannot catch it);
* **touching the frame**: the longest run of any image side the product covers (a product cut
  by the frame edge, or a "product" that is the whole photo);
* **a second estimate**: GrabCut started from the photo's border (colour models only: it shares
  nothing with the u2netp saliency or the backdrop model), and its IoU with the cut-out (not
  computed where it cannot vote: a prompted cut-out, and a sure studio cut-out whose shape passed
  and whose label text, read in its own box, all lies on it; see :func:`gate_cutout`);
* **label text missing from the cut-out**: the photo is read inside the box of both estimates
  (unmasked, as photographed), and the confident lines that the cut-out does not cover are
  counted (the Cheez-It case: the cut-out keeps "BIG" and one cracker, the box's "CHEEZ-IT" is
  on the photo but not in the cut-out).

A cut-out that fails is not rendered: the SKU "needs a prompt" (``packshot cutout --box/--point``,
or a prompt file), with the reasons in :attr:`GateReport.reasons`.

The thresholds in :class:`GateConfig` were set on generated cases (fragmented masks, masks cut
by the frame, cut-outs that drop part of a labelled product: ``tests/test_gate.py``); the real
photos in ``../shared/photos`` are the check (``benchmarks/fidelity.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..imaging import shrink_to_long_side
from ..types import Box, Cutout, alpha_bbox

__all__ = ["GateConfig", "GateReport", "gate_cutout", "second_estimate", "NEEDS_PROMPT"]

NEEDS_PROMPT = "needs-prompt"
"""The flag a SKU gets when its cut-out fails the gate."""


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the cut-out gate."""

    work_size: int = 384
    """Long side of the copy the shape measures and the second estimate are computed on."""
    min_piece: float = 0.02
    """A piece smaller than this share of the mask is a speck, not a piece."""
    max_pieces: int = 3
    """More sizeable pieces than this, with the largest below ``min_largest_share``, is fragmented."""
    min_largest_share: float = 0.6
    """The largest piece's share of the mask below which several pieces count as fragments."""
    min_solidity: float = 0.25
    """Mask area over convex-hull area below which the mask is scattered."""
    min_apart_piece: float = 0.1
    """A piece at least this share of the mask is an object in its own right for ``max_apart``."""
    max_apart: float = 1.0
    """An object piece (``min_apart_piece``) farther than this many times its own size (the square
    root of its area) from every other object piece is a separate object: several objects spread
    over the photo, not one product (a desk with a mug, a cup and a toy; set on generated scenes:
    product sets lined up touching or up to half a bottle apart measure <= 0.5, scattered objects
    1.5 of their size apart and more measure >= 1.5)."""
    max_side_run: float = 0.6
    """Longest covered run of one image side, as a share of that side, above which the product is cut by the frame."""
    max_cut_share: float = 0.5
    """A covered run of an image side this long against the product's own width (or height) there..."""
    min_cut_side: float = 0.25
    """... and at least this share of the side is a straight cut across the product by the frame."""
    max_sides_touched: int = 2
    """Touching more than this many sides (each over ``touch_share``) means the cut-out is the photo."""
    touch_share: float = 0.1
    """A side counts as touched when the product covers this share of it."""
    min_agreement: float = 0.5
    """IoU with the second estimate below which the two disagree."""
    studio_confidence: float = 0.9
    """A "studio-backdrop" cut-out at or above this confidence (backdrop explained, saliency agreeing)
    is not stopped by disagreeing with the second estimate (a warning instead)."""
    skip_second_when_sure: bool = True
    """Do not compute the second estimate where it cannot vote: a prompted cut-out, and a studio
    cut-out at ``studio_confidence`` whose shape passed and whose label text, read in its own box,
    all lies on it (see :func:`gate_cutout`; GrabCut is most of the gate's time, seconds on a pale
    box on a pale backdrop). False: always computed (its IoU and warning recorded)."""
    max_missing_glyphs: int = 6
    """Confident label glyphs read on the photo but outside the cut-out, above which it fails..."""
    max_missing_share: float = 0.3
    """... when they are also at least this share of the glyphs read in the box."""
    min_line_coverage: float = 0.5
    """A text line is in the cut-out when alpha > 0.5 covers this share of its box."""
    read_text: bool = True
    """Run the text check (OCR; about a second)."""
    left_out_noise: float = 0.02
    """The border's backdrop (:func:`~.backdrop.fit_backdrop`) must be this plain (robust spread,
    sRGB units) for the left-out check: a seamless paper or sweep, not a desk."""
    left_out_min_border: float = 0.3
    """... and explain at least this share of the border (the rest may be the product running out)."""
    left_out_diff: float = 0.45
    """A pixel this far from the backdrop's colour (sRGB distance; 0.26 a channel on a neutral
    backdrop) is clearly not the backdrop, nor a soft shadow on it."""
    max_left_out: float = 0.25
    """Pixels clearly not the backdrop, touching the cut-out but left out of it, above this share
    of the cut-out's area: part of the product is missing (a grey bag's outside dropped, its black
    lining kept)."""


@dataclass(frozen=True)
class GateReport:
    """The plausibility report of one cut-out.

    Attributes
    ----------
    passed : the cut-out may be rendered.
    reasons : why not (empty when passed), each a sentence a user can act on.
    warnings : notes that did not fail the gate (e.g. touching one side).
    metrics : the measures (JSON-serialisable), for the SKU's records.
    """

    passed: bool
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def flags(self) -> tuple[str, ...]:
        return () if self.passed else (NEEDS_PROMPT,)

    def as_record(self) -> dict[str, Any]:
        return {"verdict": "pass" if self.passed else NEEDS_PROMPT, "reasons": list(self.reasons),
                "warnings": list(self.warnings), "metrics": self.metrics}


def _small(a: np.ndarray, size: int, interpolation: int | None = None) -> np.ndarray:
    return shrink_to_long_side(a, size, min_side=8, interpolation=interpolation)


def shape_metrics(mask: np.ndarray, config: GateConfig = GateConfig()) -> dict[str, Any]:
    """Pieces, largest piece share, solidity and frame contact of a boolean mask."""
    import cv2

    m = mask.astype(np.uint8)
    area = float(m.sum())
    h, w = m.shape
    if area == 0:
        return {"area_share": 0.0, "pieces": 0, "largest_share": 0.0, "solidity": 0.0, "apart": 0.0,
                "side_runs": {}, "cut_shares": {}, "sides_touched": 0}
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    areas = np.sort(stats[1:, cv2.CC_STAT_AREA].astype(np.float64))[::-1]
    apart = _apart(labels, stats[1:, cv2.CC_STAT_AREA], area, config.min_apart_piece)
    pieces = int((areas >= config.min_piece * area).sum())
    pts = cv2.findNonZero(m)
    hull = cv2.convexHull(pts)
    hull_area = max(float(cv2.contourArea(hull)), 1.0)
    sides = {"top": m[0], "bottom": m[-1], "left": m[:, 0], "right": m[:, -1]}
    runs = {k: round(_longest_run(v) / len(v), 4) for k, v in sides.items()}
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    extent = {"top": cols[-1] - cols[0] + 1, "bottom": cols[-1] - cols[0] + 1,
              "left": rows[-1] - rows[0] + 1, "right": rows[-1] - rows[0] + 1}
    cut = {k: round(_longest_run(v) / float(extent[k]), 4) for k, v in sides.items()}
    shares = {k: float(v.mean()) for k, v in sides.items()}
    return {
        "area_share": round(area / (h * w), 4),
        "pieces": pieces,
        "largest_share": round(float(areas[0] / area), 4),
        "solidity": round(min(area / hull_area, 1.0), 4),
        "apart": round(apart, 4),
        "side_runs": runs,
        "cut_shares": cut,
        "sides_touched": int(sum(1 for s in shares.values() if s >= config.touch_share)),
    }


def _apart(labels: np.ndarray, piece_areas: np.ndarray, area: float, min_share: float) -> float:
    """The largest gap, over the object pieces (each at least ``min_share`` of the mask), from a
    piece to the nearest other object piece, in units of the piece's own size (the square root of
    its area); 0 with fewer than two object pieces."""
    import cv2

    ids = np.flatnonzero(piece_areas >= min_share * area) + 1
    if ids.size < 2:
        return 0.0
    worst = 0.0
    for i in ids:
        others = np.isin(labels, ids[ids != i])
        dist = cv2.distanceTransform((~others).astype(np.uint8), cv2.DIST_L2, 3)
        gap = float(dist[labels == i].min())
        worst = max(worst, gap / float(np.sqrt(piece_areas[i - 1])))
    return worst


def _longest_run(v: np.ndarray) -> int:
    v = np.concatenate([[0], v.astype(np.int8), [0]])
    d = np.diff(v)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return int((ends - starts).max()) if starts.size else 0


def second_estimate(image: np.ndarray, config: GateConfig = GateConfig()) -> np.ndarray:
    """An independent guess at the product: GrabCut started from the photo's border.

    Returns a boolean mask at the size of ``image``'s work copy (long side ``config.work_size``).
    GrabCut models colours only (the border is sure background, a 4 % frame), so it shares
    nothing with u2netp's saliency or the backdrop model.
    """
    import cv2

    from ..imaging import linear_to_srgb8
    from .grabcut import grabcut

    small = _small(np.asarray(image, np.float32), config.work_size)
    h, w = small.shape[:2]
    img8 = np.ascontiguousarray(linear_to_srgb8(np.clip(small, 0, 1), dither=False)[..., ::-1])
    mask = np.full((h, w), cv2.GC_PR_FGD, np.uint8)
    bx, by = max(2, int(0.04 * w)), max(2, int(0.04 * h))
    mask[:by], mask[-by:], mask[:, :bx], mask[:, -bx:] = cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD
    out = grabcut(img8, mask, 4)
    if out is None:
        return np.zeros((h, w), bool)
    # keep the pieces that matter (GrabCut leaves specks of texture)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(out.astype(np.uint8), connectivity=8)
    if n > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.flatnonzero(areas >= 0.05 * areas.max()) + 1
        out = np.isin(labels, keep)
    return out


def _union_box(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _polygon_coverage(hard: np.ndarray, polygon) -> float | None:
    """Share of a text line's polygon (not its axis-aligned box: a line on a diagonal strap
    would count the backdrop beside it) that the cut-out covers; None when it lies outside."""
    import cv2

    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    x0, y0 = max(int(np.floor(poly[:, 0].min())), 0), max(int(np.floor(poly[:, 1].min())), 0)
    x1, y1 = min(int(np.ceil(poly[:, 0].max())), hard.shape[1]), min(int(np.ceil(poly[:, 1].max())), hard.shape[0])
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(inside, [np.round(poly - (x0, y0)).astype(np.int32)], 1)
    n = int(inside.sum())
    if n == 0:
        return None
    return float(hard[y0:y1, x0:x1][inside > 0].mean())


def text_metrics(cutout: Cutout, box_text: Any, config: GateConfig = GateConfig(),
                 second: np.ndarray | None = None) -> dict[str, Any]:
    """Glyphs of the confident upright lines read in the box, and those the cut-out does not cover.

    ``second``: the second estimate (bool, any size). A line that neither the cut-out nor the
    second estimate covers (each under half of it) is text around the product (a shelf label,
    a neighbouring product), not the product's: it is not counted.
    """
    hard = cutout.alpha > 0.5
    lines = box_text.upright_lines() if box_text is not None else ()
    total = missing = ignored = 0
    missing_text = []
    if second is not None and second.shape != hard.shape:
        import cv2

        second = cv2.resize(second.astype(np.uint8), (hard.shape[1], hard.shape[0]),
                            interpolation=cv2.INTER_NEAREST).astype(bool)
    for line in lines:
        glyphs = sum(1 for c in line.text if c.isalnum())
        if line.confidence < 0.8:
            continue
        covered = _polygon_coverage(hard, line.polygon)
        if covered is None:
            continue
        if second is not None and covered < config.min_line_coverage:
            by_second = _polygon_coverage(second, line.polygon)
            if by_second is not None and by_second < 0.5:
                ignored += glyphs
                continue
        total += glyphs
        if covered < config.min_line_coverage:
            missing += glyphs
            missing_text.append(line.text)
    return {"glyphs_read": total, "glyphs_missing": missing, "missing_lines": missing_text[:12],
            "glyphs_outside_both": ignored}


def _shape_verdict(metrics: dict, config: GateConfig, reasons: list[str], warnings: list[str],
                   prompted: bool = False) -> None:
    """Reasons (and warnings) from the cut-out's shape: pieces, solidity, objects apart, the
    photo's edges. ``prompted``: the user chose what is in the cut-out, separate objects included."""
    if metrics["pieces"] > config.max_pieces and metrics["largest_share"] < config.min_largest_share:
        reasons.append(f"the cut-out is in {metrics['pieces']} pieces, the largest only "
                       f"{metrics['largest_share']:.0%} of it (fragments of the product)")
    if not prompted and metrics.get("apart", 0.0) > config.max_apart:
        reasons.append(f"the cut-out is separate objects spread over the photo (a piece {metrics['apart']:.1f} "
                       "times its own size away from the others): which one is the product?")
    if metrics["solidity"] < config.min_solidity:
        reasons.append(f"the cut-out is scattered (solidity {metrics['solidity']:.2f})")
    if metrics["sides_touched"] > config.max_sides_touched:
        reasons.append(f"the cut-out touches {metrics['sides_touched']} sides of the photo "
                       "(the product fills the frame, or the backdrop was kept)")
    runs, cuts = metrics["side_runs"], metrics["cut_shares"]
    worst_side = max(runs, key=runs.get)
    cut_sides = [k for k in runs if runs[k] > config.max_side_run
                 or (runs[k] >= config.min_cut_side and cuts[k] >= config.max_cut_share)]
    for side in cut_sides:
        reasons.append(f"the product is cut by the {side} edge of the photo ({runs[side]:.0%} of that edge, "
                       f"{cuts[side]:.0%} of the product's width there): a hand or the backdrop runs out of "
                       "the frame, or the product does (reshoot, or render it anyway with --no-gate)")
    if not cut_sides and runs[worst_side] > 0:
        warnings.append(f"the product touches the {worst_side} edge of the photo")


def left_out_metrics(cutout: Cutout, config: GateConfig = GateConfig()) -> dict[str, Any]:
    """The photo's pixels clearly not the plain backdrop seen on its border, touching the cut-out
    but left out of it: their area over the cut-out's, and whether they reach the photo's edge.
    Empty when the border is not a plain backdrop (a desk, a shelf: nothing is known of it)."""
    import cv2

    from ..imaging import linear_to_srgb
    from .backdrop import border_mask, fit_backdrop

    srgb = linear_to_srgb(np.clip(_small(np.asarray(cutout.image, np.float32), config.work_size), 0, 1))
    hard = _small(cutout.alpha, config.work_size) > 0.5
    if srgb.shape[:2] != hard.shape or not hard.any():
        return {}
    border = border_mask(hard.shape)
    model = fit_backdrop(srgb, border & ~hard)
    if model.noise > config.left_out_noise or model.inlier_share * (border & ~hard).mean() / border.mean() \
            < config.left_out_min_border:
        return {}
    differs = np.linalg.norm(srgb - model.field, axis=2) > config.left_out_diff
    left = (differs & ~hard).astype(np.uint8)
    n, labels = cv2.connectedComponents(left, connectivity=8)
    near = cv2.dilate(hard.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    ids = np.unique(labels[near & (left > 0)])
    region = np.isin(labels, ids[ids > 0])
    edge = region[0].any() or region[-1].any() or region[:, 0].any() or region[:, -1].any()
    return {"left_out_share": round(float(region.sum()) / float(hard.sum()), 4),
            "left_out_reaches_frame": bool(edge), "left_out_backdrop_noise": round(model.noise, 4)}


def _studio_sure(cutout: Cutout, config: GateConfig) -> bool:
    """A studio cut-out whose backdrop model explains the border and with which u2netp's saliency
    agrees (confidence >= ``config.studio_confidence``): it has an independent second opinion already."""
    return "studio-backdrop" in cutout.flags and cutout.confidence >= config.studio_confidence


def _second_verdict(cutout: Cutout, config: GateConfig, prompted: bool, metrics: dict, reasons: list[str],
                    warnings: list[str]) -> np.ndarray:
    """The second estimate (GrabCut from the border) at the gate's size, measured against the cut-out."""
    second = second_estimate(cutout.image, config)
    ours = _small(cutout.alpha, config.work_size) > 0.5
    if second.shape != ours.shape:
        import cv2

        second = cv2.resize(second.astype(np.uint8), (ours.shape[1], ours.shape[0]),
                            interpolation=cv2.INTER_NEAREST).astype(bool)
    union = float((second | ours).sum())
    iou = float((second & ours).sum()) / union if union else 0.0
    metrics["second_estimate_iou"] = round(iou, 4)
    metrics["second_estimate_area_share"] = round(float(second.mean()), 4)
    # a studio cut-out whose backdrop model explains the border and with which u2netp's saliency
    # agrees (confidence >= studio_confidence) already has an independent second opinion:
    # GrabCut, which takes in a textured table or soft shadows, then only warns
    studio_sure = _studio_sure(cutout, config)
    if iou < config.min_agreement and not prompted:
        text = f"the cut-out disagrees with a second estimate (GrabCut from the border; IoU {iou:.2f})"
        if studio_sure:
            warnings.append(text + f"; the backdrop model and saliency agree (confidence {cutout.confidence:.2f})")
        else:
            reasons.append(text)
    return second


def _text_verdict(cutout: Cutout, config: GateConfig, box_text: Any, second: np.ndarray | None, prompted: bool,
                  metrics: dict, reasons: list[str]) -> Any:
    """The box text (read here when None and ``config.read_text``); a reason when label text is left out.
    ``second`` None (not computed): read in the cut-out's own box, every line counted."""
    if config.read_text and box_text is None:
        from .orientation import read_box_text

        sb_full = None
        if second is not None:
            sy = cutout.alpha.shape[0] / second.shape[0]
            sx = cutout.alpha.shape[1] / second.shape[1]
            sb = alpha_bbox(second.astype(np.float32))
            sb_full = None if sb is None else (int(sb[0] * sx), int(sb[1] * sy), int(np.ceil(sb[2] * sx)),
                                               int(np.ceil(sb[3] * sy)))
        # a prompted cut-out is read in its own box: the GrabCut box, blind to the prompt, may
        # reach the shelf labels around a product the user boxed
        box_text = read_box_text(cutout.image, cutout.bbox if prompted else _union_box(cutout.bbox, sb_full))
    if box_text is not None:
        # unprompted: text that the second estimate also leaves out is around the product
        tm = text_metrics(cutout, box_text, config, second=None if prompted else second)
        metrics.update(tm)
        if tm["glyphs_missing"] > config.max_missing_glyphs and \
                tm["glyphs_missing"] >= config.max_missing_share * max(tm["glyphs_read"], 1):
            shown = ", ".join(repr(t) for t in tm["missing_lines"][:4])
            reasons.append(f"label text on the photo is missing from the cut-out: {shown} "
                           f"({tm['glyphs_missing']} of {tm['glyphs_read']} glyphs read)")
    return box_text


def gate_cutout(cutout: Cutout, config: GateConfig = GateConfig(), box_text: Any = None,
                prompted: bool = False) -> tuple[GateReport, Any]:
    """Measure a cut-out and decide whether it may be rendered.

    Parameters
    ----------
    cutout : the cut-out (with the photo it came from).
    config : thresholds.
    box_text : a :class:`~packshot.segment.orientation.BoxText` already read over the union of
        the cut-out's and the second estimate's boxes; read here when None (and
        ``config.read_text``).
    prompted : the cut-out came from a user's prompt: the second estimate, blind to the prompt,
        is measured but does not vote.

    Returns
    -------
    (GateReport, BoxText or None)
        The report, and the text reading (reused by the orientation estimate).
    """
    reasons: list[str] = []
    warnings: list[str] = []
    if cutout.is_empty:
        return GateReport(False, ("no product found in the photo (the cut-out is empty)",), (),
                          {"area_share": 0.0}), None
    hard_small = _small(cutout.alpha, config.work_size) > 0.5
    metrics: dict[str, Any] = shape_metrics(hard_small, config)
    _shape_verdict(metrics, config, reasons, warnings, prompted)
    if not prompted:
        lo = left_out_metrics(cutout, config)
        metrics.update(lo)
        if lo.get("left_out_share", 0.0) > config.max_left_out:
            reasons.append(f"a region clearly not the backdrop, {lo['left_out_share']:.0%} of the cut-out's size, "
                           "touches the cut-out but is left out of it (part of the product missing)")
    if config.skip_second_when_sure and prompted:
        # the second estimate, blind to the prompt, neither votes nor bounds the text read
        metrics["second_estimate"] = "skipped: prompted (it would not vote)"
        box_text = _text_verdict(cutout, config, box_text, None, prompted, metrics, reasons)
    elif config.skip_second_when_sure and not reasons and _studio_sure(cutout, config):
        # A sure studio cut-out is never stopped by GrabCut (a warning at most): its only say is
        # in the text check (the box read, and lines outside both estimates not counted). The
        # text is read in the cut-out's own box with every line counted; only when that finds
        # label text off the cut-out is GrabCut run and the text judged as before.
        text_reasons: list[str] = []
        text_metrics_: dict[str, Any] = {}
        read = _text_verdict(cutout, config, box_text, None, False, text_metrics_, text_reasons)
        if text_metrics_.get("glyphs_missing", 0) == 0:
            metrics.update(text_metrics_)
            metrics["second_estimate"] = (f"skipped: studio backdrop and saliency agree (confidence "
                                          f"{cutout.confidence:.2f}); the label text read lies on the cut-out")
            box_text = read
        else:
            second = _second_verdict(cutout, config, prompted, metrics, reasons, warnings)
            box_text = _text_verdict(cutout, config, box_text, second, prompted, metrics, reasons)
    else:
        second = _second_verdict(cutout, config, prompted, metrics, reasons, warnings)
        box_text = _text_verdict(cutout, config, box_text, second, prompted, metrics, reasons)
    return GateReport(not reasons, tuple(reasons), tuple(warnings), metrics), box_text
