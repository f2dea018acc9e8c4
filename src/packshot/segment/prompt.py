"""SAM-style prompts for backends that do not read them: crop to the box, filter by points.

A box says where the product is: the backend sees the box plus a margin (context helps a
saliency model), and nothing outside the box is kept. Points say which connected parts belong
to the product (label 1) and which do not (label 0).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import Box, Prompt
from . import Prediction, SegmentBackend, SegmentConfig


def expand_box(box: Box, margin: float, size: tuple[int, int], min_px: int = 4) -> Box:
    """``box`` grown by ``margin`` x its long side (at least ``min_px``), clipped to ``size`` (w, h)."""
    x0, y0, x1, y1 = box
    m = max(int(round(margin * max(x1 - x0, y1 - y0))), min_px)
    w, h = size
    return max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m)


def box_mask(box: Box, shape: tuple[int, int], grow: int = 1) -> np.ndarray:
    """Boolean H x W mask of ``box`` grown by ``grow`` pixels."""
    h, w = shape
    x0, y0, x1, y1 = box
    m = np.zeros((h, w), bool)
    m[max(0, y0 - grow):min(h, y1 + grow), max(0, x0 - grow):min(w, x1 + grow)] = True
    return m


def apply_points(alpha: np.ndarray, points, flags: list[str]) -> np.ndarray:
    """Keep the connected parts of ``alpha > 0.5`` that hold a positive point; drop those with a negative one.

    A positive point off every part keeps the part nearest to it (within 3 % of the diagonal)
    or, failing that, adds the flag ``"point-not-covered"``.
    """
    if not points:
        return alpha
    h, w = alpha.shape
    hard = (alpha > 0.5).astype(np.uint8)
    # soft edge pixels belong to the part they touch: label a slightly dilated mask
    n, labels = cv2.connectedComponents(cv2.dilate(hard, np.ones((3, 3), np.uint8)), connectivity=8)
    support = labels * (alpha > 0.01)
    positives = [(x, y) for x, y, lab in points if lab == 1]
    negatives = [(x, y) for x, y, lab in points if lab == 0]
    keep: set[int] = set()
    reach = 0.03 * float(np.hypot(h, w))
    for x, y in positives:
        lab = int(labels[int(y), int(x)])
        if lab == 0:
            # nearest part within reach
            ys, xs = np.nonzero(labels)
            if ys.size:
                d = np.hypot(xs - x, ys - y)
                i = int(d.argmin())
                if d[i] <= reach:
                    lab = int(labels[ys[i], xs[i]])
        if lab:
            keep.add(lab)
        elif "point-not-covered" not in flags:
            flags.append("point-not-covered")
    drop = {int(labels[int(y), int(x)]) for x, y in negatives} - {0}
    if positives:
        wanted = np.isin(support, sorted(keep - drop)) if keep - drop else np.zeros_like(hard, bool)
    else:
        wanted = ~np.isin(support, sorted(drop)) if drop else np.ones_like(hard, bool)
    wanted &= support > 0
    return np.where(wanted, alpha, 0.0).astype(np.float32)


def predict_with_prompt(backend: SegmentBackend, rgb: np.ndarray, prompt: Prompt, config: SegmentConfig) -> Prediction:
    """Run a prompt-blind backend on the box crop and filter its parts by the points."""
    h, w = rgb.shape[:2]
    flags: list[str] = []
    if prompt.box is not None:
        cx0, cy0, cx1, cy1 = expand_box(prompt.box, config.prompt_margin, (w, h))
        pred = backend.predict(np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1]), None, config)
        alpha = np.zeros((h, w), np.float32)
        alpha[cy0:cy1, cx0:cx1] = pred.alpha
        alpha *= box_mask(prompt.box, (h, w), grow=1)
    else:
        pred = backend.predict(rgb, None, config)
        alpha = pred.alpha
    flags.extend(pred.flags)
    alpha = apply_points(alpha, prompt.points, flags)
    params = dict(pred.params)
    params["prompt_mode"] = "crop-and-filter"
    return Prediction(alpha=alpha, confidence=pred.confidence, background=pred.background,
                      flags=tuple(flags), params=params)
