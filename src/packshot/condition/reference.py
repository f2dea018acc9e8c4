"""What a reference (mood) image or a background plate says about a scene.

From a brand's existing hero shot we estimate the three things a scene must match: its main
colours (a palette), where the key light comes from, and the light's colour temperature. From a
background plate we also estimate where the floor (table or shelf edge) runs.

All inputs are linear-light float32 H x W x 3 in [0, 1]; images are shrunk to at most
:data:`ANALYSIS_SIZE` pixels on the long side first, so each estimate costs milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..imaging import LUMINANCE_WEIGHTS, RGB_TO_XYZ, lab_to_linear, linear_to_lab, luminance, shrink_to_long_side
from ..types import PaletteColor

ANALYSIS_SIZE = 128
"""Long side (pixels) the analyses run at."""

# linear sRGB -> CIE XYZ (D65)
_RGB_TO_XYZ = RGB_TO_XYZ


@dataclass(frozen=True)
class ReferenceLook:
    """What a reference image says about its scene.

    Attributes
    ----------
    palette : tuple of PaletteColor
        Main colours, most common first (shares sum to 1).
    azimuth, elevation : float
        Estimated key-light direction in degrees (conventions of :class:`packshot.types.Light`).
    light_confidence : float
        0..1: how clearly the image is lit from one side (0 = flat light, direction a guess).
    kelvin : float
        Estimated colour temperature of the light, K.
    """

    palette: tuple[PaletteColor, ...]
    azimuth: float
    elevation: float
    light_confidence: float
    kelvin: float

    def to_dict(self) -> dict:
        return {
            "palette": [{"rgb": [round(c, 5) for c in p.rgb], "share": round(p.share, 4)} for p in self.palette],
            "azimuth": round(self.azimuth, 2),
            "elevation": round(self.elevation, 2),
            "light_confidence": round(self.light_confidence, 3),
            "kelvin": round(self.kelvin, 1),
        }


def shrink(rgb: np.ndarray, long_side: int = ANALYSIS_SIZE) -> np.ndarray:
    """Area-downsample so the long side is at most ``long_side`` pixels (float32, linear)."""
    return shrink_to_long_side(np.ascontiguousarray(rgb, np.float32), long_side)


# ------------------------------------------------------------------------------- palette
def extract_palette(rgb: np.ndarray, k: int = 5, iterations: int = 12) -> tuple[PaletteColor, ...]:
    """Main colours of an image by k-means in CIELAB (deterministic initialisation).

    Parameters
    ----------
    rgb : ndarray
        float32 H x W x 3 linear light.
    k : int
        Number of colours (fewer when the image has fewer distinct colours).

    Returns
    -------
    tuple of PaletteColor
        Most common first; shares sum to 1.
    """
    lab = linear_to_lab(shrink(rgb)).reshape(-1, 3).astype(np.float64)
    if lab.shape[0] == 0:
        return ()
    # Farthest-point initialisation from the median colour: deterministic and spread out.
    centres = [np.median(lab, axis=0)]
    for _ in range(1, k):
        d = np.min(((lab[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        if d.max() < 4.0:  # everything within deltaE ~2 of a centre already
            break
        centres.append(lab[int(np.argmax(d))])
    c = np.array(centres)
    for _ in range(iterations):
        labels = np.argmin(((lab[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = np.array([lab[labels == i].mean(axis=0) if np.any(labels == i) else c[i] for i in range(len(c))])
        if np.allclose(new, c, atol=1e-3):
            break
        c = new
    labels = np.argmin(((lab[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(labels, minlength=len(c)).astype(np.float64)
    order = np.argsort(-counts, kind="stable")
    out = []
    for i in order:
        if counts[i] == 0:
            continue
        lin = np.clip(lab_to_linear(c[i].astype(np.float32)), 0.0, 1.0)
        out.append(PaletteColor(tuple(float(v) for v in c[i]), tuple(float(v) for v in lin),
                                float(counts[i] / counts.sum())))
    return tuple(out)


# ------------------------------------------------------------------------------- colour temperature
def _planck_xy(kelvin: float) -> tuple[float, float]:
    """CIE 1931 xy of a black body (Kim et al. 2002 cubic fit, 1667..25000 K)."""
    t = float(np.clip(kelvin, 1667.0, 25000.0))
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return x, y


def kelvin_to_rgb(kelvin: float, reference_kelvin: float = 6500.0) -> np.ndarray:
    """Linear RGB gains of a black-body light relative to ``reference_kelvin`` (luminance 1).

    A camera white-balanced for ``reference_kelvin`` sees a light of ``kelvin`` with these
    gains: below the reference it is warm (R > B), above it cool.
    """

    def rgb_of(t: float) -> np.ndarray:
        x, y = _planck_xy(t)
        xyz = np.array([x / y, 1.0, (1 - x - y) / y])
        return np.linalg.solve(_RGB_TO_XYZ, xyz)

    g = rgb_of(kelvin) / rgb_of(reference_kelvin)
    return (g / (g @ LUMINANCE_WEIGHTS)).astype(np.float32)


def estimate_kelvin(rgb: np.ndarray) -> float:
    """Colour temperature of the light in an image (bright-pixel white point + McCamy's formula).

    The brightest unclipped fifth of the pixels is taken as the lit, mostly neutral surfaces;
    their mean chromaticity gives a correlated colour temperature, clipped to 2000..12000 K.
    """
    small = shrink(rgb).reshape(-1, 3).astype(np.float64)
    lum = small @ LUMINANCE_WEIGHTS
    ok = small.max(axis=1) < 0.98  # clipped pixels lost their colour
    if ok.sum() < 16:
        ok = np.ones_like(ok)
    thresh = np.quantile(lum[ok], 0.8)
    sel = small[ok & (lum >= thresh)]
    mean = sel.mean(axis=0) if sel.size else small.mean(axis=0)
    X, Y, Z = _RGB_TO_XYZ @ mean
    s = X + Y + Z
    if s <= 1e-9:
        return 5500.0
    x, y = X / s, Y / s
    n = (x - 0.3320) / (0.1858 - y)
    cct = 449.0 * n**3 + 3525.0 * n**2 + 6823.3 * n + 5520.33
    return float(np.clip(cct, 2000.0, 12000.0))


# ------------------------------------------------------------------------------- light direction
def estimate_light_direction(rgb: np.ndarray) -> tuple[float, float, float]:
    """Rough key-light direction from where an image is bright and where it is dark.

    The vector from the dark half's luminance centroid to the bright half's gives the side the
    light comes from: left/right sets the azimuth (within 20..160 deg, since hero shots are lit
    from the camera side), top/bottom nudges the elevation (25..70 deg).

    Returns
    -------
    azimuth, elevation, confidence : float
        Degrees, degrees, and 0..1 (the strength of the left/right/top/bottom imbalance).
    """
    lum = luminance(shrink(rgb, 64)).astype(np.float64)
    lum = cv2.GaussianBlur(lum, (0, 0), 3.0)
    h, w = lum.shape
    ys, xs = np.mgrid[0:h, 0:w]
    xs = xs / max(w - 1, 1) - 0.5
    ys = ys / max(h - 1, 1) - 0.5
    med = np.median(lum)
    bright = np.clip(lum - med, 0, None)
    dark = np.clip(med - lum, 0, None)
    if bright.sum() <= 1e-9 or dark.sum() <= 1e-9:
        return 90.0, 45.0, 0.0
    bx = (bright * xs).sum() / bright.sum() - (dark * xs).sum() / dark.sum()
    by = (bright * ys).sum() / bright.sum() - (dark * ys).sum() / dark.sum()
    contrast = (bright.mean() + dark.mean()) / max(lum.mean(), 1e-6)
    # bright on the right (bx > 0) means light from the right: azimuth toward 0
    azimuth = 90.0 - float(np.clip(bx / 0.25, -1, 1)) * 70.0
    elevation = 45.0 + float(np.clip(-by / 0.25, -1, 1)) * 25.0
    confidence = float(np.clip(np.hypot(bx, by) / 0.25, 0, 1) * np.clip(contrast / 0.3, 0, 1))
    return azimuth, elevation, confidence


def analyse_reference(rgb: np.ndarray) -> ReferenceLook:
    """Palette, key-light direction and colour temperature of a reference image (linear RGB)."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"reference image must be H x W x 3, got shape {rgb.shape}")
    rgb = rgb[..., :3]
    az, el, conf = estimate_light_direction(rgb)
    return ReferenceLook(extract_palette(rgb), az, el, conf, estimate_kelvin(rgb))


# ------------------------------------------------------------------------------- plates
def estimate_floor_line(plate: np.ndarray, search: tuple[float, float] = (0.45, 0.92)) -> tuple[float, float]:
    """Where the supporting surface's edge runs in a background photo.

    Looks for the longest straight horizontal luminance edge (a table, shelf or counter edge)
    between ``search[0]`` and ``search[1]`` of the height.

    Returns
    -------
    line, strength : float
        The edge's row as a share of the height, and 0..1 how clear it is (0 = no edge found,
        the line is then the middle of the search band).
    """
    lum = luminance(shrink(plate, 256)).astype(np.float32)
    lum = cv2.GaussianBlur(lum, (0, 0), 1.5)
    h = lum.shape[0]
    dy = np.diff(lum, axis=0)  # row i -> between rows i and i + 1
    # A long straight edge has a gradient of one sign across the whole width.
    row_score = np.abs(dy.mean(axis=1)) * (np.abs(np.sign(dy).mean(axis=1)))
    lo, hi = int(search[0] * h), max(int(search[1] * h), int(search[0] * h) + 1)
    band = row_score[lo:hi]
    if band.size == 0 or band.max() <= 1e-6:
        return float(sum(search) / 2), 0.0
    i = int(np.argmax(band))
    strength = float(np.clip(band[i] / max(row_score.mean() * 8, 1e-6), 0, 1))
    return float((lo + i + 1) / h), strength
