"""Logo and label geometry: is the print where the cut-out says it is, and is it still straight?

Measured on the product interior after removing smooth shading (local contrast normalisation),
because relighting may change brightness but must not move ink:

* SIFT keypoints are matched between the placed cut-out and the frame (ratio test); keypoints on
  straight edges slide along them, so only corner-like ones (structure-tensor minimum eigenvalue in
  the top three quarters) are kept;
* a RANSAC homography gives the global placement error (the reference is already in frame
  coordinates, so any corner displacement is drift) and the inliers' residual;
* a tight RANSAC affine fit (0.5 px) leaves each keypoint a residual; a bend is smooth, so a
  residual counts only as far as three other keypoints within 20 px agree with it (direction within
  ~37 deg, size within 2x). A logo bent by 2 % of its width leaves ~1.5-3 px of agreed residual;
  grain, shading and resampling leave < 0.1 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..imaging import linear_to_srgb, luminance


@dataclass(frozen=True)
class GeometryResult:
    """What the geometry check measured (coordinates in crop pixels).

    Attributes
    ----------
    matches : corner-like keypoint matches that passed the ratio test.
    inliers : matches consistent with the RANSAC homography.
    homography_shift_px : largest displacement, under the homography, of the corners of the box that
        holds the matched print.
    residual_px : median reprojection error of the homography's inliers.
    local_warp_px : largest agreed residual after the affine fit (the local bend), px.
    points : float32 N x 2 keypoint positions (reference) used for the local warp.
    point_residuals : float32 N agreed residual per keypoint (px).
    """

    matches: int
    inliers: int
    homography_shift_px: float
    residual_px: float
    local_warp_px: float
    points: np.ndarray
    point_residuals: np.ndarray


def _normalised(rgb: np.ndarray, mask: np.ndarray, sigma: float = 6.0, lum: np.ndarray | None = None) -> np.ndarray:
    """Luminance with local mean and contrast removed (relight shading cancels), as uint8.
    ``lum``: the sRGB-encoded luminance of ``rgb`` when already computed."""
    import cv2

    lum = (linear_to_srgb(luminance(rgb)) if lum is None else lum).astype(np.float32)
    m = mask.astype(np.float32)
    wsum = cv2.GaussianBlur(m, (0, 0), sigma) + 1e-4
    mean = cv2.GaussianBlur(lum * m, (0, 0), sigma) / wsum
    var = cv2.GaussianBlur((lum - mean) ** 2 * m, (0, 0), sigma) / wsum
    z = (lum - mean) / np.sqrt(var + 0.02**2)
    return np.clip(z * 40 + 128, 0, 255).astype(np.uint8)


def _agreed_residuals(points: np.ndarray, resid: np.ndarray, radius: float, min_agree: int) -> np.ndarray:
    norms = np.linalg.norm(resid, axis=1)
    dist = np.linalg.norm(points[:, None] - points[None], axis=2)
    out = np.zeros(len(points), np.float32)
    for i in range(len(points)):
        if norms[i] < 1e-6:
            continue
        # > 2 px apart: SIFT reports one location several times (one per orientation)
        nb = np.flatnonzero((dist[i] < radius) & (dist[i] > 2.0) & (norms > 1e-6))
        cos = resid[nb] @ resid[i] / (norms[nb] * norms[i])
        agree = norms[nb][(cos > 0.8) & (norms[nb] > 0.5 * norms[i]) & (norms[nb] < 2 * norms[i])]
        if len(agree) >= min_agree:
            out[i] = min(float(norms[i]), float(np.sort(agree)[-min_agree]))
    return out


def measure_geometry(frame_rgb: np.ndarray, reference_rgb: np.ndarray, interior: np.ndarray,
                     ratio: float = 0.7, agree_radius_px: float = 20.0, min_agree: int = 3,
                     max_shift_px: float = 8.0, lum: tuple[np.ndarray, np.ndarray] | None = None) -> GeometryResult:
    """Measure print displacement between ``reference_rgb`` and ``frame_rgb`` inside ``interior``.

    Parameters
    ----------
    frame_rgb, reference_rgb : float32 H x W x 3 linear, same size (a crop around the product).
    interior : bool H x W product interior (eroded alpha).
    ratio : Lowe ratio test for keypoint matches.
    agree_radius_px : neighbourhood in which keypoints must agree on a residual.
    min_agree : how many neighbours must agree.
    max_shift_px : matches that moved farther than this are mismatches, not warps.
    lum : sRGB-encoded luminance of the frame and the reference, when already computed.
    """
    import cv2

    h, w = interior.shape
    lum_f, lum_r = lum if lum is not None else (None, None)
    a = _normalised(reference_rgb, interior, lum=lum_r)
    b = _normalised(frame_rgb, interior, lum=lum_f)
    mask8 = interior.astype(np.uint8) * 255
    empty = GeometryResult(0, 0, 0.0, 0.0, 0.0, np.zeros((0, 2), np.float32), np.zeros(0, np.float32))
    sift = cv2.SIFT_create(nfeatures=1500, contrastThreshold=0.02)
    ka, da = sift.detectAndCompute(a, mask8)
    kb, db = sift.detectAndCompute(b, mask8)
    if da is None or db is None or len(ka) < 8 or len(kb) < 8:
        return empty
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(da, db, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    if len(good) < 8:
        return empty
    src = np.float32([ka[m.queryIdx].pt for m in good])
    dst = np.float32([kb[m.trainIdx].pt for m in good])
    # keep corner-like keypoints: on a straight edge a keypoint can slide along it
    eig = cv2.cornerMinEigenVal(a.astype(np.float32) / 255.0, 7)
    ix = np.clip(np.rint(src).astype(int), 0, [w - 1, h - 1])
    corner = eig[ix[:, 1], ix[:, 0]]
    keep = (corner >= np.percentile(corner, 25)) & (np.linalg.norm(dst - src, axis=1) < max_shift_px)
    src, dst = src[keep], dst[keep]
    if len(src) < 8:
        return empty

    H, inl = cv2.findHomography(src, dst, cv2.RANSAC, 2.0)
    inliers, shift, residual = 0, 0.0, 0.0
    if H is not None:
        inl = inl.ravel().astype(bool)
        inliers = int(inl.sum())
        proj = cv2.perspectiveTransform(src[inl][None], H)[0]
        residual = float(np.median(np.linalg.norm(proj - dst[inl], axis=1))) if inliers else 0.0
        # judge the homography where there is print (the inliers' box): extrapolated to a bare part of
        # the product its perspective terms would turn sub-pixel noise into pixels of "drift"
        pts = src[inl] if inliers >= 4 else src
        (px0, py0), (px1, py1) = pts.min(axis=0), pts.max(axis=0)
        corners = np.float32([[px0, py0], [px1, py0], [px0, py1], [px1, py1]])
        moved = cv2.perspectiveTransform(corners[None], H)[0]
        shift = float(np.linalg.norm(moved - corners, axis=1).max())

    M, _ = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=0.5)
    if M is None:
        M = np.float32([[1, 0, 0], [0, 1, 0]])
    resid = dst - (src @ M[:, :2].T + M[:, 2])
    agreed = _agreed_residuals(src, resid, agree_radius_px, min_agree)
    return GeometryResult(
        matches=len(src), inliers=inliers, homography_shift_px=shift, residual_px=residual,
        local_warp_px=float(agreed.max(initial=0.0)), points=src, point_residuals=agreed,
    )
