"""The product lock: which pixels a diffusion model may repaint, and the seam after decoding.

Pure numpy/OpenCV (no torch), so it is tested and reused without the ``diffusion`` extra.

1. :func:`lock_masks`: the inpainting mask excludes the product and a ``margin`` around it (a
   model never paints over the product, and the margin keeps its soft edge over known pixels);
   optionally a band under the product's base is given back to the model so it can paint a
   contact shadow there.
2. After decoding, the VAE round trip shifts colours slightly everywhere, also in the kept
   margin: :func:`seam_correction` measures that drift on the kept ring (decoded vs the pixels
   that went in), spreads it smoothly and subtracts it near the product, fading out with
   distance, so no ring shows where the original product pixels are composited back.
3. The product itself is composited back by :func:`packshot.render.compose.composite` (exact
   pixels where its alpha is 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...imaging import delta_e2000, linear_to_lab

COVER = 1.0 / 255.0
"""Alpha above which a pixel counts as product (any visible coverage)."""


@dataclass(frozen=True)
class LockMasks:
    """Masks in frame pixels (bool H x W)."""

    product: np.ndarray
    """Pixels the product covers at all (alpha > :data:`COVER`)."""
    keep: np.ndarray
    """Pixels the model must not repaint: the product dilated by the margin, minus the base band."""
    ring: np.ndarray
    """Kept pixels outside the product: where the VAE drift is measured."""
    band: np.ndarray
    """Pixels under the base given back to the model (contact shadow); may be empty."""

    @property
    def inpaint(self) -> np.ndarray:
        """float32 H x W, 1 = repaint, 0 = keep (what the pipeline's ``mask_image`` gets)."""
        return (~self.keep).astype(np.float32)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def lock_masks(alpha: np.ndarray, margin: int, base_band: int = 0) -> LockMasks:
    """The keep / repaint split for one frame.

    Parameters
    ----------
    alpha : ndarray
        float32 H x W, the placed product's alpha.
    margin : int
        Pixels around the product that are kept as well (>= 0).
    base_band : int
        Height in pixels of a band under the product's lowest row, as wide as the product plus
        the margin, handed back to the model for a contact shadow (0 = none). The product's own
        pixels are never in it.
    """
    if margin < 0 or base_band < 0:
        raise ValueError(f"margin and base_band must be >= 0, got {margin}, {base_band}")
    product = np.asarray(alpha) > COVER
    keep = cv2.dilate(product.astype(np.uint8), _disk(margin)) > 0 if margin > 0 else product.copy()
    band = np.zeros_like(product)
    rows = np.flatnonzero(product.any(axis=1))
    if base_band > 0 and rows.size:
        cols = np.flatnonzero(keep.any(axis=0))
        y_base = int(rows[-1])
        # from a little above the lowest product row (where the base meets the floor) downward
        y0 = max(y_base - base_band // 4, 0)
        y1 = min(y_base + 1 + base_band, product.shape[0])
        band[y0:y1, cols[0]:cols[-1] + 1] = True
        band &= ~product
        keep = keep & ~band
    ring = keep & ~product
    return LockMasks(product=product, keep=keep, ring=ring, band=band)


def ring_delta_e(decoded: np.ndarray, reference: np.ndarray, ring: np.ndarray, max_samples: int = 20000) -> float:
    """Mean CIEDE2000 between two linear images on the ring's pixels (0 when the ring is empty)."""
    idx = np.flatnonzero(ring)
    if idx.size == 0:
        return 0.0
    if idx.size > max_samples:
        idx = idx[np.linspace(0, idx.size - 1, max_samples).astype(np.int64)]
    a = np.clip(decoded.reshape(-1, 3)[idx], 0, 1)
    b = np.clip(reference.reshape(-1, 3)[idx], 0, 1)
    return float(delta_e2000(linear_to_lab(a), linear_to_lab(b)).mean())


def seam_correction(decoded: np.ndarray, reference: np.ndarray, masks: LockMasks, feather: float,
                    sigma: float | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Remove the decoder's low-frequency colour drift around the product.

    Parameters
    ----------
    decoded : ndarray
        float32 H x W x 3 linear, the pipeline's decoded image.
    reference : ndarray
        float32 H x W x 3 linear, the image that went in (its kept pixels are the truth).
    masks : LockMasks
    feather : float
        Pixels over which the correction fades out beyond the kept region.
    sigma : float, optional
        Smoothing of the drift field (pixels); default ``max(feather / 2, 2)``.

    Returns
    -------
    corrected : ndarray
    info : dict
        ``ring_delta_e_before`` / ``ring_delta_e_after`` (mean CIEDE2000 on the ring) and the
        mean drift (linear RGB) that was removed.
    """
    before = ring_delta_e(decoded, reference, masks.ring)
    if not masks.ring.any():
        return decoded, {"ring_delta_e_before": before, "ring_delta_e_after": before, "ring_pixels": 0}
    sigma = float(sigma if sigma is not None else max(feather / 2.0, 2.0))
    w = masks.ring.astype(np.float32)
    drift = (np.asarray(decoded, np.float32) - np.asarray(reference, np.float32)) * w[..., None]
    # normalised convolution: the drift averaged over nearby ring pixels only
    num = cv2.GaussianBlur(drift, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(w, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    field = np.zeros_like(num)
    np.divide(num, den[..., None], out=field, where=den[..., None] > 1e-4)
    # weight: 1 on the kept region, fading to 0 over `feather` pixels outside it
    outside = (~masks.keep).astype(np.uint8)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, 5)
    weight = np.clip(1.0 - dist / max(float(feather), 1e-3), 0.0, 1.0).astype(np.float32)
    weight[masks.band] = np.minimum(weight[masks.band], 0.0)  # the model painted the band: keep it
    corrected = np.clip(decoded - field * weight[..., None], 0.0, 1.0).astype(np.float32)
    after = ring_delta_e(corrected, reference, masks.ring)
    mean_drift = drift[masks.ring].mean(axis=0)
    return corrected, {"ring_delta_e_before": round(before, 4), "ring_delta_e_after": round(after, 4),
                       "ring_pixels": int(masks.ring.sum()),
                       "mean_drift_linear": [round(float(v), 5) for v in mean_drift]}
