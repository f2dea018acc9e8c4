"""Helpers for the condition / render / relight tests: generated cut-outs and simple maps.

Maps are built from the alpha alone (depth from a distance transform, normals from its
gradient), so these tests do not depend on the understand stage.
"""

from __future__ import annotations

import cv2
import numpy as np

from packshot.samples import make_product
from packshot.types import Cutout, Materials, ProductMaps, alpha_bbox


def product_maps_for(alpha: np.ndarray) -> ProductMaps:
    """ProductMaps from an alpha: depth = sqrt of the distance to the outline, normals from its slope."""
    inside = (alpha > 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5).astype(np.float32)
    depth = np.sqrt(dist / max(float(dist.max()), 1.0)).astype(np.float32)
    gy, gx = np.gradient(cv2.GaussianBlur(depth, (0, 0), 2.0))
    scale = 40.0
    normals = np.dstack([-gx * scale, gy * scale, np.ones_like(gx)]).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    zero = np.zeros_like(alpha, dtype=np.float32)
    materials = Materials(zero, zero, zero, 0.0, 0.0, 0.0)
    return ProductMaps(depth=depth, normals=normals, edges=zero, materials=materials, palette=(), text=(), flags=())


def sample_cutout(kind: str = "bottle", seed: int = 1, size: int = 320) -> Cutout:
    """A generated product as a Cutout: exact alpha, edge colours freed of the old backdrop
    by the segment stage's foreground estimation (as a real cut-out has them)."""
    from packshot.segment import cutout_from_mask

    s = make_product(kind, seed=seed, size=(size, size))
    return cutout_from_mask(s.image, s.mask)


def solid_cutout(color=(0.7, 0.05, 0.05), size=(200, 260), box=(60, 40, 140, 220)) -> Cutout:
    """A flat-coloured rectangle product (clear colour for reflection and shading tests)."""
    w, h = size
    alpha = np.zeros((h, w), np.float32)
    x0, y0, x1, y1 = box
    alpha[y0:y1, x0:x1] = 1.0
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[:] = np.array(color, np.float32)
    return Cutout(rgb=rgb, alpha=alpha, image=rgb, bbox=alpha_bbox(alpha), confidence=1.0)
