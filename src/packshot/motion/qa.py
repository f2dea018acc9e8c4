"""Checking a clip like a still: sampled frames through the still checks, plus temporal checks.

* **sampled frames** (first, last and every k-th, only frames where the product is fully shown)
  go through :func:`packshot.qa.qa` against the cut-out warped by the frame's own placement;
* **flicker**: the product's interior is resampled onto one grid fixed to the product (cut-out
  coordinates), and the mean CIEDE2000 between consecutive frames is measured there, so camera
  motion does not count as change but anything that changes the product's look does;
* **product deltaE**: each frame's interior against the locked product under the same warp
  before the relight gain (the still's bound, frame by frame);
* **jitter**: the product's alpha centroid in each frame against the planned path (the plan's
  placement applied to the cut-out's alpha centroid), in frame pixels.

The clip's verdict is the worst of all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..imaging import delta_e2000, linear_to_lab
from ..ops.morphology import product_interior
from ..ops.placement import place_straight
from ..types import Cutout, alpha_bbox


@dataclass(frozen=True)
class TemporalConfig:
    """Thresholds of the temporal checks (review past the first, fail past the second)."""

    flicker_review: float = 0.5
    """Mean deltaE2000 of the product interior between consecutive frames that sends a clip to review.
    With a moving light the light's own change counts: a light moving too fast for the frame rate
    (a full orbit in a second) strobes on screen and is flagged."""
    flicker_fail: float = 1.5
    """Consecutive-frame deltaE2000 that fails a clip."""
    jitter_review_px: float = 0.5
    """Distance (frame px) of the product from its planned path that sends a clip to review."""
    jitter_fail_px: float = 1.5
    """Distance from the planned path that fails a clip."""
    product_de_review: float = 3.0
    """Mean interior deltaE2000 vs the locked product in any frame that sends a clip to review (the stills' bound)."""
    product_de_fail: float = 6.0
    """Mean interior deltaE2000 vs the locked product that fails a clip."""
    grid_max_side: int = 256
    """Longest side (px) of the product-fixed grid flicker and deltaE are measured on."""
    erode_px: int = 2
    """Erosion (grid px) of the interior mask (edges mix with the moving background)."""
    qa_samples: int = 3
    """Frames sent through the still checks (first, last and evenly between; OCR makes each cost seconds)."""


def _grade(value: float | None, review: float, fail: float) -> str:
    if value is None:
        return "pass"
    return "fail" if value > fail else "review" if value > review else "pass"


def worst(statuses) -> str:
    order = {"pass": 0, "review": 1, "fail": 2}
    return max(statuses, key=lambda s: order.get(s, 2), default="pass")


def qa_sample_indices(opacities: list[float], samples: int) -> list[int]:
    """First, last and evenly spaced frames among those where the product is fully shown."""
    full = [i for i, o in enumerate(opacities) if o >= 0.999]
    if not full or samples <= 0:
        return []
    if samples == 1 or len(full) == 1:
        return [full[-1]]
    picks = np.linspace(0, len(full) - 1, min(samples, len(full))).round().astype(int)
    return sorted({full[p] for p in picks})


@dataclass
class TemporalMeter:
    """Feed it each rendered frame (:class:`packshot.motion.render.ClipFrame`) in order."""

    cutout: Cutout
    config: TemporalConfig = TemporalConfig()
    flicker: list[float | None] = field(default_factory=list)
    product_de: list[float | None] = field(default_factory=list)
    jitter: list[float | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        a = self.cutout.alpha
        ys, xs = np.nonzero(a > 0)
        w = a[ys, xs].astype(np.float64)
        self.centroid = np.array([(xs * w).sum() / w.sum(), (ys * w).sum() / w.sum(), 1.0])
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self.grid_size: tuple[int, int] | None = None

    def _setup_grid(self, frame_scale: float) -> None:
        """The product-fixed grid: the cut-out's box at half the first frame's product resolution
        (at most ``grid_max_side``), so every grid pixel averages several frame pixels and
        resampling shimmer of fine print is not counted as a change of the product's look."""
        x0, y0, x1, y1 = alpha_bbox(self.cutout.alpha)
        g = min(1.0, self.config.grid_max_side / max(x1 - x0, y1 - y0), frame_scale)
        self.grid_size = (max(4, int(round((x1 - x0) * g))), max(4, int(round((y1 - y0) * g))))
        # grid px -> cut-out px (pixel centres)
        self.grid_to_cutout = np.array([[1 / g, 0, x0 + 0.5 / g - 0.5], [0, 1 / g, y0 + 0.5 / g - 0.5]], np.float64)

    def _sample(self, layer: np.ndarray, region, m: np.ndarray, scale: float, smooth: bool = True) -> np.ndarray:
        y0, y1, x0, x1 = region
        src = layer[y0:y1, x0:x1]
        local = m.copy()
        local[:, 2] -= (x0, y0)
        if smooth and scale > 1.25:
            # the grid is coarser than the frame: low-pass first (a Gaussian, not an area resize,
            # whose phase would move with the product's region and read as flicker)
            sigma = 0.45 * scale
            k = int(2 * np.ceil(3 * sigma) + 1)
            src = cv2.GaussianBlur(np.ascontiguousarray(src), (k, k), sigma)
        else:
            src = np.ascontiguousarray(src)
        return cv2.warpAffine(src, local, self.grid_size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def add(self, frame: Any) -> None:
        H, W = frame.product_alpha.shape
        m = frame.matrix
        if self.grid_size is None:
            self._setup_grid(float(np.hypot(m[0, 0], m[1, 0])))
        g3 = np.vstack([self.grid_to_cutout, [0, 0, 1]])
        grid_to_frame = (np.vstack([m, [0, 0, 1]]) @ g3)[:2]
        scale = float(np.hypot(grid_to_frame[0, 0], grid_to_frame[1, 0]))
        opaque = frame.plan.opacity >= 0.999
        # jitter: measured alpha centroid vs the plan
        y0, y1, x0, x1 = frame.region
        a = frame.product_alpha[y0:y1, x0:x1]
        box = alpha_bbox(frame.product_alpha[y0:y1, x0:x1], threshold=0.0)
        inside = box is not None and box[0] + x0 > 0 and box[1] + y0 > 0 and box[2] + x0 < W and box[3] + y0 < H
        if inside and a.sum() > 0:
            ys = np.arange(y0, y1, dtype=np.float64)
            xs = np.arange(x0, x1, dtype=np.float64)
            total = float(a.sum(dtype=np.float64))
            cx = float((a.sum(axis=0, dtype=np.float64) * xs).sum() / total)
            cy = float((a.sum(axis=1, dtype=np.float64) * ys).sum() / total)
            px, py = (np.asarray(m, np.float64) @ self.centroid)
            self.jitter.append(float(np.hypot(cx - px, cy - py)))
        else:
            self.jitter.append(None)
        if not opaque:
            self.flicker.append(None)
            self.product_de.append(None)
            self._prev = None
            return
        rgb = self._sample(frame.rgb, frame.region, grid_to_frame, scale)
        unlit = self._sample(frame.unlit_product, frame.region, grid_to_frame, scale)
        alpha = self._sample(frame.product_alpha, frame.region, grid_to_frame, scale, smooth=False)
        mask = product_interior(alpha, self.config.erode_px)  # the interior relight and qa judge
        lab = linear_to_lab(np.clip(rgb, 0, 1))
        if mask.any():
            ref = linear_to_lab(np.clip(unlit / np.maximum(alpha, 1e-4)[..., None], 0, 1))
            self.product_de.append(float(delta_e2000(lab[mask], ref[mask]).mean()))
        else:
            self.product_de.append(None)
        if self._prev is not None:
            both = mask & self._prev[1]
            self.flicker.append(float(delta_e2000(lab[both], self._prev[0][both]).mean()) if both.any() else None)
        else:
            self.flicker.append(None)
        self._prev = (lab, mask)

    def result(self) -> dict[str, Any]:
        c = self.config

        def top(values):
            v = [x for x in values if x is not None]
            return (max(v), float(np.mean(v))) if v else (None, None)

        fmax, fmean = top(self.flicker)
        jmax, jmean = top(self.jitter)
        dmax, dmean = top(self.product_de)
        checks = {
            "flicker": {"status": _grade(fmax, c.flicker_review, c.flicker_fail), "max": fmax, "mean": fmean,
                        "threshold": [c.flicker_review, c.flicker_fail],
                        "frames_measured": sum(x is not None for x in self.flicker)},
            "jitter": {"status": _grade(jmax, c.jitter_review_px, c.jitter_fail_px), "max_px": jmax,
                       "mean_px": jmean, "threshold": [c.jitter_review_px, c.jitter_fail_px],
                       "frames_measured": sum(x is not None for x in self.jitter)},
            "product_delta_e": {"status": _grade(dmax, c.product_de_review, c.product_de_fail), "max": dmax,
                                "mean": dmean, "threshold": [c.product_de_review, c.product_de_fail],
                                "frames_measured": sum(x is not None for x in self.product_de)},
        }
        for v in checks.values():
            for k in list(v):
                if isinstance(v[k], float):
                    v[k] = round(v[k], 4)
        return {"verdict": worst(v["status"] for v in checks.values()), "checks": checks}


def qa_frame(frame_rgb: np.ndarray, product_alpha: np.ndarray, matrix: np.ndarray, cutout: Cutout,
             master: np.ndarray | None = None):
    """The still checks on one clip frame (reference: the cut-out under the frame's own placement)."""
    from ..qa import qa
    H, W = product_alpha.shape
    ref_rgb, ref_alpha = place_straight(cutout.rgb, cutout.alpha, matrix, (W, H))
    return qa(frame_rgb, product_alpha, ref_rgb, ref_alpha, master)
