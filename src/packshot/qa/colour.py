"""Colour and structure of the product interior: masked SSIM and deltaE2000 (mean, 95th percentile).

Measured on the interior only (the alpha eroded by a few pixels), so that edge grain and light wrap,
which the relight stage adds on purpose, do not count against the product's colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..imaging import delta_e2000, linear_to_lab, linear_to_srgb, luminance
from ..ops.morphology import product_interior


@dataclass(frozen=True)
class ColourResult:
    """Colour fidelity of the product interior.

    Attributes
    ----------
    mean_de : mean CIEDE2000 between frame and reference over the interior.
    p95_de : its 95th percentile.
    mean_shift_lab : the mean (L, a, b) difference frame - reference (a uniform cast shows here).
    ssim : mean structural similarity (luminance, sRGB-encoded) over the interior.
    interior_px : how many pixels were measured.
    de_map : float32 map (crop-sized) of per-pixel deltaE2000, zero outside the interior.
    interior : bool map of the measured pixels.
    """

    mean_de: float
    p95_de: float
    mean_shift_lab: tuple[float, float, float]
    ssim: float
    interior_px: int
    de_map: np.ndarray
    interior: np.ndarray


def interior_mask(alpha: np.ndarray, erode_px: int) -> np.ndarray:
    """The product interior (:func:`packshot.ops.morphology.product_interior`, the definition relight
    bounds its change on), falling back to less erosion on tiny products (bool)."""
    return product_interior(alpha, erode_px, fallback=True)


def srgb_luminance(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded luminance (float32 H x W) of linear RGB: what SSIM (and the geometry check's
    keypoints) look at."""
    return linear_to_srgb(luminance(rgb))


def measure_colour(frame_rgb: np.ndarray, reference_rgb: np.ndarray, reference_alpha: np.ndarray,
                   erode_px: int = 4, lum: tuple[np.ndarray, np.ndarray] | None = None) -> ColourResult:
    """Compare the product interior of ``frame_rgb`` with ``reference_rgb`` (both linear, same size).

    Parameters
    ----------
    frame_rgb, reference_rgb : float32 H x W x 3 linear in [0, 1].
    reference_alpha : float32 H x W placed source alpha.
    erode_px : interior = alpha eroded by this many pixels.
    lum : :func:`srgb_luminance` of the frame and the reference, when already computed.
    """
    from skimage.metrics import structural_similarity

    interior = interior_mask(reference_alpha, erode_px)
    de_map = np.zeros(reference_alpha.shape, np.float32)
    if not interior.any():
        return ColourResult(0.0, 0.0, (0.0, 0.0, 0.0), 1.0, 0, de_map, interior)
    lab_f = linear_to_lab(frame_rgb[interior])
    lab_r = linear_to_lab(reference_rgb[interior])
    de = delta_e2000(lab_f, lab_r)
    de_map[interior] = de
    shift = (lab_f - lab_r).mean(axis=0)
    lum_f, lum_r = lum if lum is not None else (srgb_luminance(frame_rgb), srgb_luminance(reference_rgb))
    _, ssim_map = structural_similarity(lum_f, lum_r, data_range=1.0, full=True, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False)
    return ColourResult(
        mean_de=float(de.mean()),
        p95_de=float(np.percentile(de, 95)),
        mean_shift_lab=tuple(float(v) for v in shift),
        ssim=float(ssim_map[interior].mean()),
        interior_px=int(interior.sum()),
        de_map=de_map,
        interior=interior,
    )
