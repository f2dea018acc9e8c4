"""The qa overlay: what a reviewer looks at beside the frame.

* a deltaE2000 heat map over the product interior (blue 0 .. red >= 8, more opaque where larger);
* the locked outline (cyan) and product pixels found outside it (magenta; not at the base, which is
  not judged: shadows and reflections touch it);
* keypoints whose print moved (orange, or red past the fail threshold);
* OCR boxes of the frame's text, coloured by status (green ok, orange changed/invented, red critical);
* a header line with the verdict.
"""

from __future__ import annotations

import numpy as np

from ..imaging import linear_to_srgb8
from ..types import QAReport

_STATUS_COLOURS = {"ok": (40, 200, 80), "fuzzy": (40, 200, 80), "changed": (255, 150, 0),
                   "invented": (255, 150, 0), "missing": (255, 150, 0)}
_CRITICAL = (230, 30, 30)
_VERDICT_COLOURS = {"pass": (40, 170, 70), "review": (230, 140, 0), "fail": (210, 30, 30)}


def make_overlay(frame_rgb: np.ndarray, report: QAReport, details, warp_review_px: float = 0.5,
                 warp_fail_px: float = 1.5, max_de: float = 8.0) -> np.ndarray:
    """Draw the overlay for one frame.

    Parameters
    ----------
    frame_rgb : float32 H x W x 3 linear frame.
    report : the frame's QAReport.
    details : the :class:`packshot.qa.QADetails` from :func:`packshot.qa.qa_with_details`.
    warp_review_px, warp_fail_px : thresholds that colour moved keypoints.
    max_de : deltaE2000 mapped to the hottest colour.

    Returns
    -------
    ndarray
        uint8 sRGB H x W x 3 image.
    """
    import cv2

    out = linear_to_srgb8(frame_rgb, dither=False).copy()
    x0, y0, x1, y1 = details.crop
    view = out[y0:y1, x0:x1]
    # deltaE heat map, half transparent, interior only (each layer drawn when its check ran)
    if details.colour is not None:
        de = np.clip(details.colour.de_map / max_de, 0, 1)
        heat = cv2.applyColorMap(np.rint(de * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
        # opacity grows with the difference, so the product stays visible where it is faithful
        inside = details.colour.interior
        weight = np.clip(de[inside] * 1.2, 0.12, 0.75)[:, None]
        view[inside] = ((1 - weight) * view[inside] + weight * heat[inside]).astype(np.uint8)
    # outline and growth
    if details.silhouette is not None:
        grow = (details.silhouette.growth_map > 0.35) & ~details.silhouette.base  # the base is not judged
        view[grow] = (255, 0, 255)
        view[details.silhouette.outline] = (0, 230, 255)
    # keypoints that moved
    if details.geometry is not None:
        for (px, py), r in zip(details.geometry.points, details.geometry.point_residuals):
            if r > warp_review_px:
                colour = _CRITICAL if r > warp_fail_px else (255, 150, 0)
                cv2.circle(view, (int(round(px)), int(round(py))), 3, colour, 1, lineType=cv2.LINE_AA)
    # OCR boxes (token boxes are in crop pixels)
    if details.text is not None:
        for d in details.text.diffs:
            if d.frame_box is None:
                continue
            bx0, by0, bx1, by1 = (int(round(v)) for v in d.frame_box)
            status = d.status if d.confirmed else "fuzzy"
            colour = _CRITICAL if (d.critical and status not in ("ok", "fuzzy")) else _STATUS_COLOURS[status]
            cv2.rectangle(view, (bx0, by0), (bx1, by1), colour, 1)
    # header
    h, w = out.shape[:2]
    bar = max(14, h // 28)
    cv2.rectangle(out, (0, 0), (w, bar), _VERDICT_COLOURS.get(report.verdict, (90, 90, 90)), -1)
    label = f"QA {report.verdict.upper()}"
    if report.reasons:
        label += ": " + report.reasons[0].split(":")[0] + (f" (+{len(report.reasons) - 1})" if len(report.reasons) > 1 else "")
    cv2.putText(out, label, (4, bar - 4), cv2.FONT_HERSHEY_SIMPLEX, bar / 30.0, (255, 255, 255), 1, cv2.LINE_AA)
    return out
