"""Relative depth of the product: silhouette inflation (default) or a user-supplied ONNX model.

Every backend returns a :class:`DepthEstimate`: a height field in **pixels of the input** (so
that its gradient is a true slope and normals come out with the right tilt) and the normals
derived from it. Larger = nearer; 0 outside the product.

``inflate``
    Solve the Poisson problem ``-Laplace(u) = 1`` inside the silhouette with ``u = 0`` on its
    boundary (on a grid of ``max_side`` pixels), then take ``h = sqrt(k u)``: for a disc ``u`` is
    a paraboloid and ``sqrt(4 u)`` is exactly a hemisphere; for a long strip ``sqrt(2 u)`` is
    exactly a half cylinder. ``k`` is read from the shape itself (``D_max^2 / u_max`` with ``D``
    the distance to the boundary), so round blobs become spheres and elongated ones cylinders.
    Holes are boundary too, so they stay holes; thin parts have small ``u`` and stay thin.
    Shading cue: a large region bounded by strong edges and evenly lit is a flat face (the
    front of a box, a face seen in a three-quarter view): its height is replaced by the plane
    that best fits the inflation there, so its normal is constant.

``onnx:PATH``
    A monocular relative-depth network with the MiDaS / Depth Anything layout: one input
    ``1 x 3 x H x W`` (ImageNet mean/std, H and W multiples of 14 or 32), one output of
    relative inverse depth (larger = nearer) ``1 x H x W`` or ``1 x 1 x H x W``. Its output is
    rescaled to the inflation's height range inside the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import InputError
from ..imaging import luminance
from ..registry import Registry
from .normals import normals_from_slopes, normals_from_depth


@dataclass(frozen=True)
class DepthEstimate:
    """Height above the silhouette plane, in pixels, and unit normals (H x W x 3, x right, y up, z out)."""

    height_px: np.ndarray
    normals: np.ndarray
    params: dict


class DepthBackend(Protocol):
    """Estimates relative depth of the product in a cut-out."""

    name: str

    def estimate(self, rgb: np.ndarray, alpha: np.ndarray) -> DepthEstimate:
        """``rgb`` float32 H x W x 3 linear, ``alpha`` float32 H x W -> :class:`DepthEstimate`."""
        ...


BACKENDS: Registry[DepthBackend] = Registry("depth backend")


# ---------------------------------------------------------------------------------------------
# silhouette inflation
# ---------------------------------------------------------------------------------------------
def _poisson_inside(mask: np.ndarray) -> np.ndarray:
    """Solve ``-Laplace(u) = 1`` on the True pixels of ``mask`` with ``u = 0`` outside (5-point stencil)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import spsolve

    h, w = mask.shape
    idx = -np.ones((h, w), np.int64)
    ys, xs = np.nonzero(mask)
    n = ys.size
    u = np.zeros((h, w), np.float64)
    if n == 0:
        return u
    idx[ys, xs] = np.arange(n)
    rows = [np.arange(n)]
    cols = [np.arange(n)]
    vals = [np.full(n, 4.0)]
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        nb = np.full(n, -1, np.int64)
        nb[inside] = idx[ny[inside], nx[inside]]
        ok = nb >= 0
        rows.append(np.flatnonzero(ok))
        cols.append(nb[ok])
        vals.append(np.full(int(ok.sum()), -1.0))
    a = csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    sol = spsolve(a, np.ones(n), permc_spec="MMD_AT_PLUS_A")
    u[ys, xs] = sol
    return u


def _flat_faces(height: np.ndarray, mask: np.ndarray, luminance: np.ndarray, min_share: float,
                max_spread: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Evenly lit regions bounded by shading edges, each with the plane that best fits ``height`` there.

    Returns a list of (region mask, plane coefficients (a, b, c) of ``a x + b y + c``).
    """
    import cv2
    from scipy import ndimage

    area = int(mask.sum())
    if area < 64:
        return []
    log_l = np.log(np.clip(luminance, 1e-4, None)).astype(np.float32)
    smooth = cv2.GaussianBlur(log_l, (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    grad = np.hypot(gx, gy)
    # A face edge is a step in log luminance; printed detail also makes steps, so faces are the
    # large connected pieces left once all steps are removed.
    interior = ndimage.binary_erosion(mask, iterations=2)
    smooth_region = interior & (grad < 0.04)
    labels, count = ndimage.label(smooth_region)
    if count == 0:
        return []
    sizes = ndimage.sum(smooth_region, labels, index=np.arange(1, count + 1))
    faces = []
    yy, xx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]].astype(np.float64)
    near_rim = ~ndimage.binary_erosion(mask, iterations=4)
    for lab in np.flatnonzero(sizes >= min_share * area) + 1:
        region = labels == lab
        values = log_l[region]
        # Even lighting: a curved surface under a key light shows a spread of log luminance.
        spread = float(np.percentile(values, 95) - np.percentile(values, 5))
        if spread > max_spread:
            continue
        # A face meets its neighbours at a crease, where the shading steps; the shadowed side
        # of a sphere is evenly lit too but fades into the lit side without a step.
        band = ndimage.binary_dilation(region, iterations=2) & mask & ~region & ~near_rim
        if band.sum() > 0.02 * region.sum():
            crease = float(np.percentile(grad[band], 75))
            if crease < 0.08:
                continue
        # Grow the face back over the edge band it lost to erosion, but not into other faces.
        grown = ndimage.binary_dilation(region, iterations=3) & mask & ~((labels > 0) & (labels != lab))
        design = np.stack([xx[region], yy[region], np.ones(int(region.sum()))], axis=1)
        coef, *_ = np.linalg.lstsq(design, height[region], rcond=None)
        faces.append((grown, coef, int(region.sum())))
    return _orthogonal_faces(faces)


def _orthogonal_faces(faces: list) -> list[tuple[np.ndarray, np.ndarray]]:
    """Snap the normals of the two or three largest faces to the nearest mutually orthogonal set.

    Packaging is boxy: faces seen together meet at right angles. Inflation gets each face's tilt
    direction right but its amount too shallow; the nearest orthonormal frame (orthogonal
    Procrustes) restores the right angles. Faces whose planes are nearly parallel are left as fitted.
    """
    out = [(region, coef) for region, coef, _ in faces]
    if len(faces) < 2:
        return out
    order = sorted(range(len(faces)), key=lambda i: -faces[i][2])[:3]
    normals = []
    for i in order:
        a, b, _ = faces[i][1]
        n = np.array([-a, b, 1.0])
        normals.append(n / np.linalg.norm(n))
    m = np.stack(normals, axis=1)  # 3 x k
    cosines = m.T @ m
    off = cosines[~np.eye(len(order), dtype=bool)]
    if off.size and float(np.max(off)) > np.cos(np.radians(30)):
        return out  # two "faces" nearly parallel: not the sides of one box
    u, _, vt = np.linalg.svd(m, full_matrices=False)
    snapped = u @ vt
    for col, i in enumerate(order):
        n = snapped[:, col]
        if n[2] < 0.05:
            return out  # would face away from the camera: the fit is not a box corner
    for col, i in enumerate(order):
        region, coef = out[i]
        n = snapped[:, col]
        a, b = -n[0] / n[2], n[1] / n[2]
        ys, xs = np.nonzero(region)
        # keep the fitted height at the face's centre, change only its tilt
        cx, cy = xs.mean(), ys.mean()
        c = coef[0] * cx + coef[1] * cy + coef[2] - a * cx - b * cy
        out[i] = (region, np.array([a, b, c]))
    return out


@dataclass(frozen=True)
class InflateDepth:
    """Silhouette inflation with a flat-face shading cue (see the module docstring).

    Attributes
    ----------
    max_side : int
        Longest side of the grid the Poisson problem is solved on (speed vs detail).
    flat_faces : bool
        Use the shading cue that turns evenly lit, edge-bounded regions into planes.
    face_min_share : float
        Smallest share of the product area a region needs to count as a face.
    face_max_spread : float
        Largest 5-95 percentile spread of log luminance for a region to count as evenly lit.
    """

    max_side: int = 192
    flat_faces: bool = True
    face_min_share: float = 0.06
    face_max_spread: float = 0.12
    name: str = "inflate"

    def estimate(self, rgb: np.ndarray, alpha: np.ndarray) -> DepthEstimate:
        import cv2
        from scipy import ndimage

        h, w = alpha.shape
        height = np.zeros((h, w), np.float32)
        normals = np.zeros((h, w, 3), np.float32)
        normals[..., 2] = 1.0
        full_mask = alpha > 0.5
        params = {"max_side": self.max_side, "flat_faces": self.flat_faces,
                  "face_min_share": self.face_min_share, "face_max_spread": self.face_max_spread}
        if not full_mask.any():
            return DepthEstimate(height, normals, params)
        rows = np.flatnonzero(full_mask.any(axis=1))
        cols = np.flatnonzero(full_mask.any(axis=0))
        pad = 2
        y0, y1 = max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, h)
        x0, x1 = max(cols[0] - pad, 0), min(cols[-1] + 1 + pad, w)
        crop_alpha = alpha[y0:y1, x0:x1]
        ch, cw = crop_alpha.shape
        scale = min(1.0, self.max_side / max(ch, cw))
        lw, lh = max(int(round(cw * scale)), 1), max(int(round(ch * scale)), 1)
        if scale < 1.0:
            low_alpha = cv2.resize(crop_alpha, (lw, lh), interpolation=cv2.INTER_AREA)
            low_rgb = cv2.resize(np.ascontiguousarray(rgb[y0:y1, x0:x1]), (lw, lh), interpolation=cv2.INTER_AREA)
        else:
            low_alpha, low_rgb = crop_alpha, rgb[y0:y1, x0:x1]
        sx, sy = lw / cw, lh / ch  # low-res pixels per full-res pixel
        # one pixel of zero border so the boundary condition holds at the crop edge
        low_mask = np.pad(low_alpha > 0.5, 1)
        u = _poisson_inside(low_mask)
        dist = ndimage.distance_transform_edt(low_mask)
        u_max = float(u.max())
        # k = 4 for a disc (sphere), 2 for a long strip (cylinder); read from the widest point
        k = float(np.clip(dist.max() ** 2 / u_max, 2.0, 4.0)) if u_max > 0 else 4.0
        h_low = np.sqrt(np.maximum(k * u, 0.0))  # in low-res pixels
        # Analytic slope of sqrt(k u): exact where the grid slope of the sqrt is not (the rim).
        # Slopes in low-res units equal slopes in full-res units (the resize is isotropic).
        gux, guy = np.gradient(u, axis=1), np.gradient(u, axis=0)
        denom = 2.0 * np.maximum(h_low, 1e-6)
        slope_x, slope_y = k * gux / denom, k * guy / denom
        faces = []
        if self.flat_faces and low_mask.sum() >= 64:
            lum = np.pad(luminance(low_rgb), 1, mode="edge")
            faces = _flat_faces(h_low, low_mask, lum, self.face_min_share, self.face_max_spread)
            yy, xx = np.mgrid[0 : low_mask.shape[0], 0 : low_mask.shape[1]]
            for region, (a, b, c) in faces:
                h_low[region] = np.maximum(a * xx[region] + b * yy[region] + c, 0.0)
                slope_x[region], slope_y[region] = a, b
        inner = (slice(1, -1), slice(1, -1))
        up = lambda a: cv2.resize(np.ascontiguousarray(a[inner], np.float32), (cw, ch), interpolation=cv2.INTER_LINEAR)
        height_crop = up(h_low) / np.float32((sx + sy) / 2.0)
        slope_x_full, slope_y_full = up(slope_x), up(slope_y)
        mask_crop = full_mask[y0:y1, x0:x1]
        # Parts thinner than a low-res pixel vanish from the grid: keep them as thin ridges.
        dist_full = cv2.distanceTransform(mask_crop.astype(np.uint8), cv2.DIST_L2, 3)
        height_crop = np.where(mask_crop, np.maximum(height_crop, 0.9 * dist_full), 0.0).astype(np.float32)
        height[y0:y1, x0:x1] = height_crop
        n_crop = normals_from_slopes(slope_x_full, slope_y_full)
        n_crop[~mask_crop] = (0.0, 0.0, 1.0)
        normals[y0:y1, x0:x1] = n_crop
        params.update(k=round(k, 4), flat_faces_found=len(faces), grid=[lw, lh])
        return DepthEstimate(height, normals, params)


@BACKENDS.register("inflate", doc="silhouette inflation (Poisson height field) with a flat-face shading cue")
def _make_inflate(**kwargs) -> DepthBackend:
    return InflateDepth(**kwargs)


# ---------------------------------------------------------------------------------------------
# ONNX monocular depth (MiDaS / Depth Anything layout)
# ---------------------------------------------------------------------------------------------
class OnnxDepth:
    """A user-supplied monocular depth network in ONNX (MiDaS / Depth Anything layout).

    Parameters
    ----------
    path : str
        The ``.onnx`` file.
    input_size : int
        Side of the square network input; rounded to a multiple of 14 (Depth Anything's patch).
    """

    name = "onnx"

    def __init__(self, path: str, input_size: int = 518):
        from ..errors import require

        p = Path(path)
        if not p.is_file():
            raise InputError(path, "depth model file does not exist (backend 'onnx:PATH' needs an .onnx file)")
        ort = require("onnxruntime", None, "ONNX depth models")
        try:
            self._session = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for bad files
            raise InputError(path, f"not a loadable ONNX model ({exc.__class__.__name__}: {exc})") from exc
        self.path = str(p)
        inp = self._session.get_inputs()[0]
        self._input_name = inp.name
        shape = list(inp.shape)
        fixed = [d for d in shape[2:] if isinstance(d, int) and d > 0]
        self.input_size = int(fixed[0]) if len(fixed) == 2 else int(round(input_size / 14) * 14)
        from ..provenance import sha256_file

        self.sha256 = sha256_file(p)

    def estimate(self, rgb: np.ndarray, alpha: np.ndarray) -> DepthEstimate:
        import cv2

        from ..imaging import linear_to_srgb

        h, w = alpha.shape
        s = self.input_size
        srgb = linear_to_srgb(rgb)
        x = cv2.resize(srgb, (s, s), interpolation=cv2.INTER_CUBIC)
        x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32)
        out = np.asarray(self._session.run(None, {self._input_name: x})[0], np.float32)
        out = out.reshape(out.shape[-2], out.shape[-1])
        rel = cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC)
        mask = alpha > 0.5
        # Relative inverse depth has no metric scale: map the product's range onto the height range
        # silhouette inflation gives the same shape, so normals have a plausible tilt.
        reference = InflateDepth(flat_faces=False).estimate(rgb, alpha).height_px
        height = np.zeros((h, w), np.float32)
        if mask.any():
            lo, hi = np.percentile(rel[mask], [1, 99])
            span = max(float(hi - lo), 1e-6)
            target = float(np.percentile(reference[mask], 99)) or 1.0
            height = np.where(mask, np.clip((rel - lo) / span, 0, None) * target, 0).astype(np.float32)
        normals = normals_from_depth(height, mask)
        return DepthEstimate(height, normals, {"model": self.path, "model_sha256": self.sha256,
                                               "input_size": s})


@BACKENDS.register("onnx", takes_argument=True, doc="monocular depth ONNX model (MiDaS / Depth Anything layout) by path")
def _make_onnx(path: str, **kwargs) -> DepthBackend:
    return OnnxDepth(path, **kwargs)
