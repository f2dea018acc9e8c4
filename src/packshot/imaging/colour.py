"""Colour conventions: sRGB <-> linear light, 8-bit levels, luminance, CIELAB, CIEDE2000.

The only place in packshot that holds the sRGB transfer-function constants (IEC 61966-2-1), the
luminance weights and the sRGB <-> XYZ matrix; every other module calls these functions.
"""

from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------------------------------------
# colour conversions
# ---------------------------------------------------------------------------------------------
def _as_float_array(values, func: str) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind in "iub":
        raise ValueError(
            f"{func} expects float values in [0, 1], got dtype {a.dtype}; "
            "convert 8-bit data with srgb8_to_linear / uint8_to_float"
        )
    return a.astype(np.float32, copy=False)


def _srgb_decode(s: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1), encoded -> linear, on float values as given."""
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4).astype(np.float32)


def srgb_to_linear(srgb: np.ndarray, clip: bool = True) -> np.ndarray:
    """sRGB-encoded values -> linear light (IEC 61966-2-1).

    Parameters
    ----------
    srgb : ndarray
        Any shape, float, sRGB-encoded in [0, 1] (values outside are clipped).
    clip : bool
        False: no clipping, and the arithmetic runs in the input's own float precision (for
        model fields that may stray slightly outside [0, 1]; values below 0 follow the linear
        toe, values above 1 the power curve).

    Returns
    -------
    ndarray
        float32, same shape, linear light in [0, 1].

    Examples
    --------
    >>> float(srgb_to_linear(0.5))  # doctest: +ELLIPSIS
    0.2140...
    """
    if not clip:
        a = np.asarray(srgb)
        if a.dtype.kind in "iub":
            _as_float_array(a, "srgb_to_linear")  # raises the clear error
        with np.errstate(invalid="ignore"):  # the power branch of negative values is not selected
            return _srgb_decode(a)
    return _srgb_decode(np.clip(_as_float_array(srgb, "srgb_to_linear"), 0.0, 1.0))


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB-encoded values (IEC 61966-2-1).

    Parameters
    ----------
    linear : ndarray
        Any shape, float, linear light in [0, 1] (values outside are clipped).

    Returns
    -------
    ndarray
        float32, same shape, sRGB-encoded in [0, 1].
    """
    x = np.clip(_as_float_array(linear, "linear_to_srgb"), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(
        np.float32
    )


_LUT_8BIT_TO_LINEAR = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)


def srgb8_to_linear(srgb8: np.ndarray) -> np.ndarray:
    """uint8 sRGB (any shape) -> float32 linear light in [0, 1], through a lookup table."""
    a = np.asarray(srgb8)
    if a.dtype != np.uint8:
        raise ValueError(f"srgb8_to_linear expects uint8, got {a.dtype}")
    return _LUT_8BIT_TO_LINEAR[a]


# 4x4 Bayer matrix, centred, in units of one 8-bit step: offsets in [-15/32, +15/32], so a value
# that already sits on an 8-bit level never moves (8-bit decode -> encode is lossless).
_BAYER4 = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16.0 - 0.5


def linear_to_srgb8(linear: np.ndarray, dither: bool = True) -> np.ndarray:
    """float linear light -> uint8 sRGB.

    Parameters
    ----------
    linear : ndarray
        H x W or H x W x C linear-light values in [0, 1].
    dither : bool
        Add a deterministic 4 x 4 ordered dither (less than +-0.5 step) before rounding so that
        smooth gradients do not band. The same input always gives the same bytes, and a value
        that already sits on an 8-bit level is left on it.

    Returns
    -------
    ndarray
        uint8, same shape.
    """
    s = linear_to_srgb(linear) * 255.0
    if dither and s.ndim >= 2:
        h, w = s.shape[:2]
        tile = np.tile(_BAYER4, (h // 4 + 1, w // 4 + 1))[:h, :w]
        if s.ndim == 3:
            tile = tile[..., None]
        s = s + tile
    return np.clip(np.rint(s), 0, 255).astype(np.uint8)


def float_to_uint8(values: np.ndarray) -> np.ndarray:
    """A [0, 1] float map (alpha, mask, any non-colour channel) -> uint8, no colour transform."""
    return np.clip(np.rint(np.asarray(values, np.float32) * 255.0), 0, 255).astype(np.uint8)


def uint8_to_float(values: np.ndarray) -> np.ndarray:
    """uint8 map -> float32 in [0, 1], no colour transform."""
    return np.asarray(values, dtype=np.float32) / 255.0


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


LUMINANCE_WEIGHTS = _read_only(np.array([0.2126, 0.7152, 0.0722]))
"""Rec. 709 / sRGB relative-luminance weights of linear R, G, B (float64, read-only): ``rgb @
LUMINANCE_WEIGHTS`` where a float64 result is wanted, else :func:`luminance`."""

_LUMINANCE_WEIGHTS32 = _read_only(LUMINANCE_WEIGHTS.astype(np.float32))


def luminance(linear_rgb: np.ndarray) -> np.ndarray:
    """Relative luminance (Rec. 709 / sRGB weights) of linear RGB (..., 3) -> (...), float32."""
    return (np.asarray(linear_rgb, np.float32)[..., :3] @ _LUMINANCE_WEIGHTS32).astype(np.float32)


def dlinear_dsrgb(linear_lum: np.ndarray) -> np.ndarray:
    """Approximate slope d(linear)/d(sRGB) of the sRGB curve at linear values ``linear_lum``, float32.

    ``2.4 * L ** (1.4 / 2.4)`` (the pure 2.4 power law) with the linear toe's slope ``1 / 12.92`` as
    the floor near black: how much a step in sRGB-encoded values (film grain, sensor noise, which
    live in the encoded domain) moves linear light at that level.
    """
    import cv2

    lum = np.maximum(linear_lum, 1e-6)
    slope = cv2.pow(lum, 0.583).reshape(lum.shape)  # OpenCV returns 1-D input as a column
    slope *= 2.4
    np.maximum(slope, 1.0 / 12.92, out=slope)
    return slope


# sRGB (D65) linear -> XYZ -> CIELAB
RGB_TO_XYZ = _read_only(np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
))
"""Linear sRGB -> CIE XYZ (D65), float64, read-only."""
_RGB_TO_XYZ = RGB_TO_XYZ.astype(np.float32)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ.astype(np.float64)).astype(np.float32)
_D65 = np.array([0.95047, 1.0, 1.08883], np.float32)
_LAB_EPSILON = 216 / 24389
_LAB_KAPPA = 24389 / 27


def linear_to_lab(linear_rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB (..., 3) -> CIELAB (..., 3), D65 white, float32 (L in [0, 100])."""
    xyz = np.asarray(linear_rgb, np.float32)[..., :3] @ _RGB_TO_XYZ.T / _D65
    f = np.where(xyz > _LAB_EPSILON, np.cbrt(np.maximum(xyz, _LAB_EPSILON)), (_LAB_KAPPA * xyz + 16) / 116)
    lightness = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1).astype(np.float32)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3), D65 -> linear sRGB (..., 3), float32 (not clipped: out-of-gamut shows)."""
    lab = np.asarray(lab, np.float32)
    fy = (lab[..., 0] + 16) / 116
    fx = fy + lab[..., 1] / 500
    fz = fy - lab[..., 2] / 200

    def finv(f):
        f3 = f**3
        return np.where(f3 > _LAB_EPSILON, f3, (116 * f - 16) / _LAB_KAPPA)

    xyz = np.stack([finv(fx), finv(fy), finv(fz)], axis=-1) * _D65
    return (xyz @ _XYZ_TO_RGB.T).astype(np.float32)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between two CIELAB arrays of the same shape (..., 3) -> (...)."""
    from skimage.color import deltaE_ciede2000

    return deltaE_ciede2000(np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)).astype(np.float32)
