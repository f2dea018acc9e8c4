"""qa stage: is the product in the frame still the product?

:func:`qa` compares a rendered frame with the cut-out placed in frame coordinates (the locked product
as it should look) and, when given, the approved master artwork, and returns a
:class:`~packshot.types.QAReport` with a verdict ``pass`` / ``review`` / ``fail``, one
:class:`~packshot.types.CheckResult` per check and the reasons for anything not passed:

``silhouette`` (:mod:`.silhouette`)
    the product's outline found in the frame's pixels (not taken from the renderer) against the
    locked mask: local outward growth (a melted or grown cap), inward shrinkage, IoU; and the
    renderer's declared alpha against the locked mask.
``colour`` (:mod:`.colour`)
    mean and 95th-percentile deltaE2000 and masked SSIM on the product interior. The relight stage
    may move the mean by up to 3, so that is where review starts.
``text`` (:mod:`.text`)
    PP-OCR of the master (or of the cut-out when there is none) and of the frame's product, aligned
    token by token; numbers and units are critical.
``geometry`` (:mod:`.geometry`)
    keypoints matched between cut-out and frame: global drift (homography) and local bends.

What the checks do not judge, by design (the unmeasured share of the outline, OCR noise and skipped
geometry are also reported per frame in ``metrics``):

* the product's base (lowest 12 % of its height), where contact shadows and floor reflections touch
  it, is not judged for growth (unless the frame declares its shadow: a flat-lay's shadows are
  modelled and it has no reflection, so its whole outline is judged);
  nor is outline where the backdrop changes along it (a podium edge)
  or where product and backdrop are too alike to unmix (``reliable_share`` says how much was measured);
* OCR disagreements over print that did not change from the cut-out are OCR noise (a warning);
  tokens on lines under ``small_print_px`` can send a frame to review, never fail it;
* products with too little print for keypoints skip the geometry check (a warning).

Every threshold lives in :class:`QAConfig`. The stage does no I/O: :mod:`packshot.cli.qa` reads
frames and writes ``<variant>_qa.json`` and ``<variant>_qa_overlay.png``.

Examples
--------
>>> from packshot.qa import qa                                         # doctest: +SKIP
>>> report = qa(frame.rgb, frame.product_alpha, ref_rgb, ref_alpha, master=artwork)  # doctest: +SKIP
>>> report.verdict, report.reasons                                      # doctest: +SKIP
('pass', ())

A frame in memory (from :func:`packshot.render.render` / :func:`packshot.relight.relight`) is
checked with :func:`qa_frame`: the reference is the frame's own product layer (the locked product
as render placed it), read from its typed fields. A frame on disk is checked by
:func:`packshot.qa.frames.check_frame_file`, which rebuilds the reference from the frame record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from ..errors import EmptyProductError, InputError
from ..provenance import record, sha256_array
from ..registry import Registry
from ..types import Box, CheckResult, Frame, QAReport, RegionLayer, TextLine, alpha_bbox
from ..render import declared_shadow, outline_alpha, see_through_mask, see_through_share
from .colour import ColourResult, interior_mask, measure_colour
from .frames import FrameInputs, check_frame_file, find_master, load_frame_inputs
from .geometry import GeometryResult, measure_geometry
from .silhouette import SilhouetteResult, measure_silhouette
from .text import TextResult, compare_text, read_lines

__all__ = ["CHECKS", "BACKENDS", "DEFAULT_CHECKS", "CheckContext", "QAConfig", "QADetails", "qa", "qa_frame",
           "qa_with_details", "reference_of", "worst", "STATUSES",
           "FrameInputs", "check_frame_file", "find_master", "load_frame_inputs"]

STATUSES = ("pass", "review", "fail")
"""Check statuses and verdicts, from best to worst."""

CHECKS: Registry[Callable[["CheckContext"], None]] = Registry("qa check")
"""The frame checks by name (``silhouette``, ``colour``, ``geometry``, ``text``); :attr:`QAConfig.checks`
chooses which run. A check is ``check(ctx: CheckContext) -> None``: it appends its
:class:`~packshot.types.CheckResult` (and warnings) to the context and keeps its measurement there."""
BACKENDS = CHECKS
"""Alias: every stage names its registry ``BACKENDS``."""
DEFAULT_CHECKS = ("silhouette", "colour", "geometry", "text")
"""The checks run by default, in their order in the report."""


@dataclass(frozen=True)
class QAConfig:
    """Thresholds and settings of the qa checks (review when past the first, fail past the second)."""

    crop_margin: float = 0.06
    """Margin around the product box for every check, as a share of the box's longest side (+12 px)."""
    edge_band_px: float = 3.0
    """Half-width (px) of the band inside the outline in which the product's colour is sampled."""
    backdrop_gaps_px: tuple[float, ...] = (3.0, 8.0)
    """Distances (px) outside the outline at which the backdrop colour is sampled (near and far ring)."""
    min_edge_contrast: float = 0.08
    """Least product/backdrop contrast (sRGB units) for an outline stretch to be measured."""
    outline_stretch_px: float = 6.0
    """Gaussian sigma (px along the outline) over which outline offsets are averaged."""
    base_share: float = 0.12
    """Lowest share of the product's height treated as its base (contact shadow, reflection): not judged
    (on a frame that declares its shadow, a flat-lay, the base is judged too: see :func:`qa`)."""
    max_backdrop_spread: float = 0.2
    """Backdrop variation along the outline (share of product/backdrop contrast) above which it is not judged."""
    growth_review_px: float = 0.5
    """Outward growth of an outline stretch (px) that sends a frame to review."""
    growth_fail_px: float = 2.0
    """Outward growth of an outline stretch (px) that fails a frame."""
    shrink_review_px: float = 1.0
    """Inward shrinkage of an outline stretch (px) that sends a frame to review."""
    shrink_fail_px: float = 3.0
    """Inward shrinkage of an outline stretch (px) that fails a frame."""
    iou_review: float = 0.97
    """Silhouette IoU (frame evidence vs locked mask) below which a frame goes to review."""
    iou_fail: float = 0.90
    """Silhouette IoU below which a frame fails."""
    declared_iou_review: float = 0.98
    """IoU of the renderer's declared product alpha vs the locked mask below which a frame goes to review."""
    declared_iou_fail: float = 0.90
    """IoU of the declared alpha vs the locked mask below which a frame fails."""
    interior_erode_px: int = 4
    """Erosion (px) of the alpha that defines the product interior for colour checks."""
    mean_de_review: float = 3.0
    """Mean deltaE2000 on the interior above which a frame goes to review (relight may move it up to 3)."""
    mean_de_fail: float = 6.0
    """Mean deltaE2000 above which a frame fails."""
    p95_de_review: float = 9.0
    """95th-percentile deltaE2000 above which a frame goes to review."""
    p95_de_fail: float = 15.0
    """95th-percentile deltaE2000 above which a frame fails."""
    ssim_review: float = 0.85
    """Masked SSIM (luminance) below which a frame goes to review."""
    ssim_fail: float = 0.60
    """Masked SSIM below which a frame fails."""
    fuzzy_ratio: float = 0.75
    """Similarity at which two different words count as OCR noise, not a change (never numbers/units)."""
    small_print_px: float = 14.0
    """OCR line boxes shorter than this (px in the frame; ~8 px capitals) are too small to read reliably:
    their tokens can send a frame to review but never fail it."""
    print_unchanged_ncc: float = 0.97
    """Per-character print correlation (frame vs cut-out) at which an OCR disagreement is noise, not a change."""
    ocr_max_side: int = 640
    """Longest side (px) the product crop or master is shrunk to before OCR."""
    ocr_min_side: int = 400
    """Longest side (px) small crops are enlarged to before OCR."""
    warp_review_px: float = 0.5
    """Local print displacement (px, agreed by neighbouring keypoints) that sends a frame to review."""
    warp_fail_px: float = 1.5
    """Local print displacement (px) that fails a frame."""
    drift_review_px: float = 1.5
    """Global print drift (px, homography corner displacement) that sends a frame to review."""
    drift_fail_px: float = 4.0
    """Global print drift (px) that fails a frame."""
    see_through_cutout_share: float = 0.25
    """A cut-out whose body (alpha > 0.05, its rim eroded 2 px) is partly see-through (alpha <= 0.99)
    over at least this share is checked as a see-through product even when the frame declares no
    glass: the mesh of a pencil cup unmixed from the desk reads 0.48; opaque cut-outs of the real
    photos read 0.0003-0.076 (their soft rims; measured on those photos, not held out)."""
    min_colour_px: int = 256
    """Fewer interior pixels than this (a 16 x 16 patch) and the colour checks are not measured: the
    opaque parts of a see-through product can be a few pixels of rim, whose mean deltaE and SSIM
    are noise (a clear bottle in a dark scene failed on 3 pixels)."""
    min_keypoints: int = 12
    """Fewer matched keypoints than this and the geometry check is skipped (plain products)."""
    keypoint_ratio: float = 0.7
    """Lowe ratio test for keypoint matches between cut-out and frame."""
    warp_agree_radius_px: float = 20.0
    """Neighbourhood (px) in which keypoints must agree on a displacement for it to count as a bend."""
    warp_min_agree: int = 3
    """How many neighbouring keypoints must agree (single mismatched keypoints are not bends)."""
    checks: tuple[str, ...] = DEFAULT_CHECKS
    """The checks run, by name in :data:`CHECKS`, in this order (a check left out is not judged)."""

    def __post_init__(self) -> None:
        # "higher is worse" pairs: review must come before fail; "lower is worse" pairs the other way round
        for review, fail in (("growth_review_px", "growth_fail_px"), ("shrink_review_px", "shrink_fail_px"),
                             ("mean_de_review", "mean_de_fail"), ("p95_de_review", "p95_de_fail"),
                             ("warp_review_px", "warp_fail_px"), ("drift_review_px", "drift_fail_px")):
            if not 0 <= getattr(self, review) <= getattr(self, fail):
                raise ValueError(f"QAConfig.{review} must be >= 0 and <= {fail}, got "
                                 f"{getattr(self, review)} and {getattr(self, fail)}")
        for review, fail in (("iou_review", "iou_fail"), ("declared_iou_review", "declared_iou_fail"),
                             ("ssim_review", "ssim_fail")):
            if not getattr(self, fail) <= getattr(self, review) <= 1:
                raise ValueError(f"QAConfig.{review} must be <= 1 and >= {fail}, got "
                                 f"{getattr(self, review)} and {getattr(self, fail)}")
        unknown = [c for c in self.checks if c not in CHECKS or ":" in c]
        if unknown or not self.checks or len(set(self.checks)) != len(self.checks):
            raise ValueError(f"QAConfig.checks must name distinct checks among {', '.join(CHECKS.names())}, "
                             f"got {self.checks}")
        if not self.backdrop_gaps_px or min(self.backdrop_gaps_px) <= 0:
            raise ValueError(f"QAConfig.backdrop_gaps_px must be positive distances, got {self.backdrop_gaps_px}")


@dataclass(frozen=True)
class QADetails:
    """Everything :func:`qa_with_details` measured, maps included (for the overlay), in crop coordinates."""

    crop: Box
    silhouette: SilhouetteResult | None
    colour: ColourResult | None
    geometry: GeometryResult | None
    text: TextResult | None
    approved_lines: tuple[TextLine, ...]
    frame_lines: tuple[TextLine, ...]


def worst(statuses) -> str:
    """The worst of some statuses ("pass" for none)."""
    return max(statuses, key=STATUSES.index, default="pass")


def _grade(value: float, review: float, fail: float, higher_is_worse: bool = True) -> str:
    if higher_is_worse:
        return "fail" if value > fail else "review" if value > review else "pass"
    return "fail" if value < fail else "review" if value < review else "pass"


def _check_inputs(frame_rgb, product_alpha, reference_rgb, reference_alpha, master) -> None:
    for name, arr, nd in (("frame_rgb", frame_rgb, 3), ("product_alpha", product_alpha, 2),
                          ("reference_rgb", reference_rgb, 3), ("reference_alpha", reference_alpha, 2)):
        a = np.asarray(arr)
        if a.ndim != nd or (nd == 3 and a.shape[2] != 3):
            want = "H x W x 3" if nd == 3 else "H x W"
            raise InputError(name, f"expected a {want} array, got shape {a.shape}")
        if a.shape[:2] != np.asarray(frame_rgb).shape[:2]:
            raise InputError(name, f"is {a.shape[:2]}, the frame is {np.asarray(frame_rgb).shape[:2]}")
        if not np.isfinite(a).all():
            raise InputError(name, "has NaN or infinite values")
    if master is not None:
        m = np.asarray(master)
        if m.ndim != 3 or m.shape[2] != 3 or min(m.shape[:2]) < 8:
            raise InputError("master", f"expected an H x W x 3 artwork of at least 8 x 8 px, got shape {m.shape}")


def _shadow_crop(shadow, shape: tuple[int, int], sl: tuple[slice, slice]) -> np.ndarray | None:
    """The crop ``sl`` of a declared shadow (an H x W array or a :class:`RegionLayer` over the frame)."""
    if shadow is None:
        return None
    h, w = int(shape[0]), int(shape[1])
    if isinstance(shadow, RegionLayer):
        if shadow.channels != 1:
            raise InputError("shadow", f"a shadow layer has 1 channel, got {shadow.channels}")
        crop = shadow.window(sl[0], sl[1], (w, h))
    else:
        a = np.asarray(shadow, np.float32)
        if a.shape != (h, w):
            raise InputError("shadow", f"is {a.shape}, the frame is {(h, w)}")
        crop = a[sl]
    if not np.isfinite(crop).all() or crop.min(initial=0.0) < 0 or crop.max(initial=0.0) > 1:
        raise InputError("shadow", "must be finite shares of light in [0, 1]")
    return np.ascontiguousarray(crop, np.float32)


def _crop_box(alpha: np.ndarray, margin: float) -> Box:
    box = alpha_bbox(alpha)
    if box is None:
        raise EmptyProductError("reference_alpha", "the placed cut-out has no product pixels (alpha > 0.5)")
    x0, y0, x1, y1 = box
    pad = int(round(margin * max(x1 - x0, y1 - y0))) + 12
    h, w = alpha.shape
    return max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, w), min(y1 + pad, h)


@dataclass
class CheckContext:
    """What a check reads (the crop of the frame, reference and alphas; the master; the config) and
    where it leaves its results (``checks``, ``warnings`` and its measurement)."""

    frame: np.ndarray
    """Frame crop, linear H x W x 3."""
    reference: np.ndarray
    """Reference (the placed cut-out) crop, straight linear H x W x 3."""
    reference_alpha: np.ndarray
    product_alpha: np.ndarray
    master: np.ndarray | None
    config: QAConfig
    checks: list[CheckResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    silhouette: SilhouetteResult | None = None
    colour: ColourResult | None = None
    geometry: GeometryResult | None = None
    text: TextResult | None = None
    approved_lines: tuple[TextLine, ...] = ()
    frame_lines: tuple[TextLine, ...] = ()
    see_through: bool = False
    """The frame was rendered with see-through glass (:mod:`packshot.render.transmission`)."""
    see_share: float = 0.0
    """Share of the product that is see-through (0 unless ``see_through``)."""
    shadow: np.ndarray | None = None
    """Crop of the shadow the renderer declared (share of the backdrop's light taken away), or None."""
    _lum: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def glass(self) -> bool:
        """Whether the outline and colour checks treat the product as see-through glass."""
        return self.see_share > 0.01

    def srgb_luminance(self) -> tuple[np.ndarray, np.ndarray]:
        """sRGB-encoded luminance of the frame and the reference crops, computed once for the
        checks that look at it (colour's SSIM, geometry's keypoints)."""
        if self._lum is None:
            from .colour import srgb_luminance

            self._lum = (srgb_luminance(self.frame), srgb_luminance(self.reference))
        return self._lum

    def interior(self) -> np.ndarray:
        """The product interior (the colour check's, or the same definition when it did not run)."""
        if self.colour is not None:
            return self.colour.interior
        return interior_mask(self.reference_alpha, self.config.interior_erode_px)


def check_silhouette(ctx: CheckContext) -> None:
    """Outline growth and shrinkage found in the frame's pixels, IoU, the declared alpha's IoU."""
    config = ctx.config
    # a see-through product (render.transmission): its outline is its glass, not its opaque parts, and
    # inside the outline the glass shows the scene, so the outline is measured from outside only there
    # (only for a frame rendered with see-through glass: an opaque product's soft matte is not glass)
    glass = ctx.glass
    ra, pa = ctx.reference_alpha, ctx.product_alpha
    sil = ctx.silhouette = measure_silhouette(
        ctx.frame, outline_alpha(ra) if glass else ra, outline_alpha(pa) if glass else pa, ctx.reference,
        unmeasurable=see_through_mask(ra) if glass else None, shadow=ctx.shadow, band_px=config.edge_band_px,
        ring_gaps=config.backdrop_gaps_px, min_contrast=config.min_edge_contrast,
        stretch_px=config.outline_stretch_px,
        # a declared shadow is the frame's whole ground effect (a flat-lay's: no floor reflection, its
        # contact shadow modelled), so nothing unmodelled touches the base: it is judged like the rest
        base_share=0.0 if ctx.shadow is not None else config.base_share,
        max_backdrop_spread=config.max_backdrop_spread)
    ctx.checks.append(CheckResult(
        "silhouette.growth", _grade(sil.max_growth_px, config.growth_review_px, config.growth_fail_px),
        round(sil.max_growth_px, 3), [config.growth_review_px, config.growth_fail_px],
        f"product outline grown outward by {sil.max_growth_px:.2f} px along a stretch "
        f"(expansion {100 * sil.expansion_share:.2f} % of the product area)"))
    ctx.checks.append(CheckResult(
        "silhouette.shrink", _grade(sil.max_shrink_px, config.shrink_review_px, config.shrink_fail_px),
        round(sil.max_shrink_px, 3), [config.shrink_review_px, config.shrink_fail_px],
        f"product outline shrunk inward by {sil.max_shrink_px:.2f} px along a stretch"))
    ctx.checks.append(CheckResult(
        "silhouette.iou", _grade(sil.iou, config.iou_review, config.iou_fail, higher_is_worse=False),
        round(sil.iou, 4), [config.iou_review, config.iou_fail],
        f"IoU of the product found in the frame vs the locked mask {sil.iou:.4f}"))
    ctx.checks.append(CheckResult(
        "silhouette.declared_iou",
        _grade(sil.declared_iou, config.declared_iou_review, config.declared_iou_fail, higher_is_worse=False),
        round(sil.declared_iou, 4), [config.declared_iou_review, config.declared_iou_fail],
        f"IoU of the renderer's product alpha vs the locked mask {sil.declared_iou:.4f}"))
    if sil.reliable_share < 0.5:
        ctx.warnings.append(f"only {100 * sil.reliable_share:.0f} % of the outline contrasts with the backdrop "
                            f"enough to measure growth")


def check_colour(ctx: CheckContext) -> None:
    """Mean and 95th-percentile deltaE2000 and masked SSIM on the product interior."""
    config = ctx.config
    col = ctx.colour = measure_colour(ctx.frame, ctx.reference, ctx.reference_alpha, erode_px=config.interior_erode_px,
                                      lum=ctx.srgb_luminance())
    if ctx.glass:  # glass shows the new scene: only its opaque parts can keep their colour
        ctx.warnings.append(f"{100 * ctx.see_share:.0f} % of the product is see-through (alpha <= 0.99, the scene "
                            f"shows through it): colour checked on the opaque parts only")
    if col.interior_px < config.min_colour_px:
        why = f"skipped: only {col.interior_px} interior px (too little opaque product to measure)"
        ctx.warnings.append(f"colour not measured: only {col.interior_px} px of opaque product interior")
        for name, limits in (("colour.mean_de", [config.mean_de_review, config.mean_de_fail]),
                             ("colour.p95_de", [config.p95_de_review, config.p95_de_fail]),
                             ("colour.ssim", [config.ssim_review, config.ssim_fail])):
            ctx.checks.append(CheckResult(name, "pass", None, limits, why))
        return
    ctx.checks.append(CheckResult(
        "colour.mean_de", _grade(col.mean_de, config.mean_de_review, config.mean_de_fail),
        round(col.mean_de, 3), [config.mean_de_review, config.mean_de_fail],
        f"mean deltaE2000 on the product interior {col.mean_de:.2f} "
        f"(mean Lab shift {', '.join(f'{v:+.1f}' for v in col.mean_shift_lab)})"))
    ctx.checks.append(CheckResult(
        "colour.p95_de", _grade(col.p95_de, config.p95_de_review, config.p95_de_fail),
        round(col.p95_de, 3), [config.p95_de_review, config.p95_de_fail],
        f"95th-percentile deltaE2000 on the product interior {col.p95_de:.2f}"))
    ctx.checks.append(CheckResult(
        "colour.ssim", _grade(col.ssim, config.ssim_review, config.ssim_fail, higher_is_worse=False),
        round(col.ssim, 4), [config.ssim_review, config.ssim_fail],
        f"masked SSIM of the product interior {col.ssim:.3f}"))


def check_geometry(ctx: CheckContext) -> None:
    """Keypoints matched between cut-out and frame: global drift and local bends of the print."""
    config = ctx.config
    geo = ctx.geometry = measure_geometry(ctx.frame, ctx.reference, ctx.interior(), ratio=config.keypoint_ratio,
                                          agree_radius_px=config.warp_agree_radius_px,
                                          min_agree=config.warp_min_agree, lum=ctx.srgb_luminance())
    if geo.matches < config.min_keypoints:
        ctx.checks.append(CheckResult("geometry.local_warp", "pass", None,
                                      [config.warp_review_px, config.warp_fail_px],
                                      f"skipped: only {geo.matches} keypoints matched (too little print to measure)"))
        ctx.warnings.append("geometry not measured: too few keypoints on the product")
    else:
        ctx.checks.append(CheckResult(
            "geometry.local_warp", _grade(geo.local_warp_px, config.warp_review_px, config.warp_fail_px),
            round(geo.local_warp_px, 3), [config.warp_review_px, config.warp_fail_px],
            f"print bent locally by {geo.local_warp_px:.2f} px ({geo.matches} keypoints)"))
        ctx.checks.append(CheckResult(
            "geometry.drift", _grade(geo.homography_shift_px, config.drift_review_px, config.drift_fail_px),
            round(geo.homography_shift_px, 3), [config.drift_review_px, config.drift_fail_px],
            f"print moved by up to {geo.homography_shift_px:.2f} px (homography, {geo.inliers} inliers, "
            f"residual {geo.residual_px:.2f} px)"))


def check_text(ctx: CheckContext) -> None:
    """The label read by OCR on the frame against the master's (or the cut-out's), token by token."""
    config = ctx.config
    f, r, ra = ctx.frame, ctx.reference, ctx.reference_alpha
    frame_lines = ctx.frame_lines = read_lines(f, ra, config.ocr_max_side, config.ocr_min_side)
    if ctx.master is not None:
        approved_lines = _master_lines(np.asarray(ctx.master, np.float32), config.ocr_max_side, config.ocr_min_side)
        source = "master"
    else:
        approved_lines = read_lines(r, ra, config.ocr_max_side, config.ocr_min_side)
        source = "cutout"
        ctx.warnings.append("no master artwork: label text compared with the cut-out")
    ctx.approved_lines = approved_lines
    if not approved_lines:
        ctx.checks.append(CheckResult("text", "pass", None, None, f"skipped: no text read on the {source}"))
        return
    # token boxes stay in crop pixels, like every map in QADetails (the overlay offsets them)
    txt = ctx.text = compare_text(approved_lines, frame_lines, source, config.fuzzy_ratio, frame_rgb=f,
                                  reference_rgb=r, reference_alpha=ra, unchanged_ncc=config.print_unchanged_ncc)
    bad = [d for d in txt.diffs if d.status in ("missing", "changed", "invented") and d.confirmed]
    noise = [d for d in txt.diffs if d.status in ("missing", "changed", "invented") and not d.confirmed]
    if noise:
        ctx.warnings.append("OCR disagreed but the print is unchanged from the cut-out: "
                            + "; ".join(f"{_describe(d)} (print correlation {d.print_similarity:.3f})"
                                        for d in noise))
    if not frame_lines and bad:
        # (without a master, a token whose print is unchanged from the cut-out is OCR noise, not
        # a lost label: it stays in the warnings above and cannot fail the frame on its own)
        status, what = "fail", "no text read on the frame's product"
    elif any(d.critical and not _small(d, config.small_print_px, source == "cutout") for d in bad):
        status = "fail"
        what = "; ".join(_describe(d) for d in bad if d.critical and not _small(d, config.small_print_px, source == "cutout"))
    elif bad:
        status = "review"
        what = "; ".join(_describe(d) + (" (small print)" if _small(d, config.small_print_px, source == "cutout") else "")
                         for d in bad)
    else:
        status, what = "pass", "label text matches"
    ctx.checks.append(CheckResult(
        "text", status, {"missing": txt.missing, "changed": txt.changed, "invented": txt.invented,
                         "critical": txt.critical}, None,
        f"{what} ({source}: {txt.approved_text!r}; frame: {txt.frame_text!r})"))


CHECKS.register("silhouette", doc="Outline found in the frame's pixels vs the locked mask: outward growth, "
                                  "inward shrinkage, IoU; the renderer's declared alpha's IoU.")(lambda: check_silhouette)
CHECKS.register("colour", doc="Mean and p95 deltaE2000 and masked SSIM on the product interior "
                              "(the interior relight bounds its change on).")(lambda: check_colour)
CHECKS.register("geometry", doc="Keypoints matched between cut-out and frame: global print drift (homography) "
                                "and local bends.")(lambda: check_geometry)
CHECKS.register("text", doc="PP-OCR of the master (or the cut-out) and of the frame's product, aligned token by "
                            "token; numbers and units are critical.")(lambda: check_text)


def qa_with_details(frame_rgb: np.ndarray, product_alpha: np.ndarray, reference_rgb: np.ndarray,
                    reference_alpha: np.ndarray, master: np.ndarray | None = None,
                    config: QAConfig = QAConfig(), see_through: bool = False,
                    shadow: np.ndarray | RegionLayer | None = None) -> tuple[QAReport, QADetails]:
    """:func:`qa`, also returning the maps and per-token results the overlay draws. The checks run
    are those named in ``config.checks`` (names in :data:`CHECKS`), in that order."""
    _check_inputs(frame_rgb, product_alpha, reference_rgb, reference_alpha, master)
    frame_rgb = np.asarray(frame_rgb, np.float32)
    reference_rgb = np.asarray(reference_rgb, np.float32)
    reference_alpha = np.asarray(reference_alpha, np.float32)
    product_alpha = np.asarray(product_alpha, np.float32)
    cx0, cy0, cx1, cy1 = crop = _crop_box(reference_alpha, config.crop_margin)
    sl = (slice(cy0, cy1), slice(cx0, cx1))
    ctx = CheckContext(frame_rgb[sl], reference_rgb[sl], reference_alpha[sl], product_alpha[sl], master, config,
                       see_through=see_through, shadow=_shadow_crop(shadow, frame_rgb.shape[:2], sl))
    share = see_through_share(ctx.reference_alpha)
    if not see_through and share >= config.see_through_cutout_share:
        # the locked cut-out is itself partly see-through (a mesh unmixed from the desk in its
        # gaps, segment.surface): the scene shows through it in the frame, as through glass
        see_through = ctx.see_through = True
        ctx.warnings.append(f"the cut-out itself is {100 * share:.0f} % partly see-through (a mesh or clear "
                            f"parts): checked as a see-through product")
    ctx.see_share = share if see_through else 0.0
    for name in config.checks:
        CHECKS.create(name)(ctx)

    checks, sil, col, geo, txt = ctx.checks, ctx.silhouette, ctx.colour, ctx.geometry, ctx.text
    verdict = worst(c.status for c in checks)
    reasons = tuple(f"{c.name}: {c.message}" for c in checks if c.status != "pass")
    metrics = {
        "crop": list(crop),
        "silhouette": None if sil is None else {
            "iou": sil.iou, "declared_iou": sil.declared_iou, "expansion_share": sil.expansion_share,
            "max_growth_px": sil.max_growth_px, "max_shrink_px": sil.max_shrink_px,
            "reliable_share": sil.reliable_share, "shadow_modelled": ctx.shadow is not None},
        "colour": None if col is None else {
            "mean_de": col.mean_de, "p95_de": col.p95_de, "mean_shift_lab": list(col.mean_shift_lab),
            "ssim": col.ssim, "interior_px": col.interior_px,
            **({"see_through_share": round(ctx.see_share, 4)} if see_through else {})},
        "geometry": None if geo is None else {
            "matches": geo.matches, "inliers": geo.inliers, "drift_px": geo.homography_shift_px,
            "residual_px": geo.residual_px, "local_warp_px": geo.local_warp_px},
        "text": None if txt is None else {
            "source": txt.source, "approved": txt.approved_text, "frame": txt.frame_text,
            "unconfirmed": txt.unconfirmed,
            "tokens": [{"status": d.status, "approved": d.approved, "frame": d.frame, "critical": d.critical,
                        "confirmed": d.confirmed, "print_similarity": d.print_similarity} for d in txt.diffs]},
        "warnings": ctx.warnings,
    }
    inputs = {"frame": sha256_array(frame_rgb), "product_alpha": sha256_array(product_alpha),
              "reference_rgb": sha256_array(reference_rgb), "reference_alpha": sha256_array(reference_alpha)}
    if master is not None:
        inputs["master"] = frozen_digest(np.asarray(master, np.float32))
    if ctx.shadow is not None:
        inputs["shadow"] = sha256_array(ctx.shadow)
    from ..ops.ocr import engine_info

    provenance = record("qa", "embedded", params=_params(config), inputs=inputs, ocr=engine_info())
    report = QAReport(verdict=verdict, checks=tuple(checks), reasons=reasons, metrics=metrics, provenance=provenance)
    return report, QADetails(crop, sil, col, geo, txt, ctx.approved_lines, ctx.frame_lines)


_MASTER_OCR: dict[tuple[str, int, int], tuple[TextLine, ...]] = {}
_DIGESTS: dict[int, tuple[Callable[[], object], str]] = {}


def frozen_digest(a: np.ndarray) -> str:
    """:func:`packshot.provenance.sha256_array` of ``a``, memoised by identity for an array that
    cannot change under us (read-only and owning its data: a worker's master artwork, which every
    frame of a SKU is checked against); any other array is hashed each time."""
    import weakref

    if a.flags.writeable or a.base is not None:
        return sha256_array(a)
    hit = _DIGESTS.get(id(a))
    if hit is not None and hit[0]() is a:
        return hit[1]
    digest = sha256_array(a)
    if len(_DIGESTS) >= 8:
        _DIGESTS.clear()
    _DIGESTS[id(a)] = (weakref.ref(a), digest)
    return digest


def _master_lines(master: np.ndarray, max_side: int, min_side: int) -> tuple[TextLine, ...]:
    """OCR of a master artwork, memoised by its hash: a SKU's frames share one master."""
    key = (frozen_digest(master), max_side, min_side)
    if key not in _MASTER_OCR:
        if len(_MASTER_OCR) >= 16:
            _MASTER_OCR.pop(next(iter(_MASTER_OCR)))
        _MASTER_OCR[key] = read_lines(master, None, max_side, min_side)
    return _MASTER_OCR[key]


def _params(config: QAConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def _small(d, small_print_px: float, approved_in_frame: bool) -> bool:
    """The token sits on a line shorter than ``small_print_px`` frame pixels (the frame's line, or for a
    missing token the cut-out's line; a master's lines are in the master's pixels and do not count)."""
    box = d.frame_box if d.frame_box is not None else (d.approved_box if approved_in_frame else None)
    return box is not None and (box[3] - box[1]) < small_print_px


def _describe(d) -> str:
    kind = "critical " if d.critical else ""
    if d.status == "missing":
        return f"{kind}token {d.approved!r} missing"
    if d.status == "invented":
        return f"{kind}token {d.frame!r} invented"
    return f"{kind}token {d.approved!r} changed to {d.frame!r}"


def qa(frame_rgb: np.ndarray, product_alpha: np.ndarray, reference_rgb: np.ndarray, reference_alpha: np.ndarray,
       master: np.ndarray | None = None, config: QAConfig = QAConfig(), see_through: bool = False,
       shadow: np.ndarray | RegionLayer | None = None) -> QAReport:
    """Check one frame against its locked product (and master artwork).

    Parameters
    ----------
    frame_rgb : ndarray
        float32 H x W x 3 linear frame in [0, 1].
    product_alpha : ndarray
        float32 H x W product alpha the renderer reports for the frame.
    reference_rgb, reference_alpha : ndarray
        The cut-out warped into frame coordinates (H x W x 3 linear straight colour, H x W alpha):
        the product as it should look.
    master : ndarray, optional
        float32 h x w x 3 linear approved master artwork (flat label). Without it the label text is
        compared with the cut-out's and a warning says so.
    config : QAConfig
    see_through : bool
        The frame was rendered with see-through glass (:mod:`packshot.render.transmission`; its
        sidecar's ``provenance.transmission``): the outline is measured from outside where the glass
        shows the scene, colour on the opaque parts only, and the see-through share is recorded.
    shadow : ndarray or RegionLayer, optional
        The shadow the renderer drew on the backdrop around the product (the frame's declared shadow
        layer, :func:`packshot.render.declared_shadow`; H x W, the share of the backdrop's light it
        takes away, 0..0.95): the silhouette check unmixes the outline against the backdrop darkened
        by it, so the shadow is not read as the product grown into it (flat-lay drop shadows). It must
        be everything drawn on the backdrop around the product (no floor reflection): with it the base
        is judged too.

    Returns
    -------
    QAReport
        ``verdict`` pass / review / fail, ``checks``, ``reasons`` (one per check not passed),
        ``metrics`` (JSON-serialisable numbers, OCR tokens, warnings) and ``provenance``.

    Raises
    ------
    InputError
        Arrays of the wrong shape or size, NaNs; EmptyProductError when the reference has no product.
    """
    return qa_with_details(frame_rgb, product_alpha, reference_rgb, reference_alpha, master, config, see_through,
                           shadow)[0]


def reference_of(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """The product as it should look in ``frame``: (straight linear colour H x W x 3, alpha H x W)
    from the frame's product layer (the cut-out as render placed it; no warp is redone).

    Raises
    ------
    InputError
        The frame carries no layers (a frame read from a file: check it from its frame record with
        :func:`packshot.qa.frames.check_frame_file`).
    """
    if frame.layers is None:
        raise InputError("frame", "has no product layer: check a frame read from disk with "
                                  "packshot.qa.frames.check_frame_file (it rebuilds the reference)")
    layer = frame.layers.product
    W, H = frame.size
    ref_rgb = np.zeros((H, W, 3), np.float32)
    ref_alpha = np.zeros((H, W), np.float32)
    x0, y0, x1, y1 = layer.box
    if y1 > y0 and x1 > x0:
        a = np.clip(layer.data[..., 3], 0.0, 1.0)
        from ..ops.placement import unpremultiply

        ref_rgb[y0:y1, x0:x1] = np.clip(unpremultiply(layer.data), 0.0, 1.0)
        ref_alpha[y0:y1, x0:x1] = a
    return ref_rgb, ref_alpha


def qa_frame(frame: Frame, master: np.ndarray | None = None, config: QAConfig = QAConfig()) -> QAReport:
    """:func:`qa` of a frame in memory: its pixels and declared alpha against its own product layer
    (:func:`reference_of`), read from the frame's typed fields, never from another stage's provenance."""
    ref_rgb, ref_alpha = reference_of(frame)
    return qa(frame.rgb, frame.product_alpha, ref_rgb, ref_alpha, master, config, shadow=declared_shadow(frame))
