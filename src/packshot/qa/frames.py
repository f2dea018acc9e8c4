"""Reading what the qa checks need from a frame folder written by :func:`packshot.render.io.save_frame`.

The sidecar names the product alpha, the cut-out and the placement matrix (cut-out px -> frame px);
the cut-out is warped into the frame with premultiplied alpha to give the reference (the locked
product as it should look). Master artwork is found per SKU in a folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..imaging import SUPPORTED_SUFFIXES, load_image, load_mask
from ..types import Placement, alpha_bbox


@dataclass(frozen=True)
class FrameInputs:
    """One frame ready for :func:`packshot.qa.qa` (all arrays in frame pixels, linear light)."""

    sidecar: Path
    image: Path
    sku: str
    scene: str
    variant: str
    frame_rgb: np.ndarray
    product_alpha: np.ndarray
    reference_rgb: np.ndarray
    reference_alpha: np.ndarray
    cutout: Path


def warp_premultiplied(rgb: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, size: tuple[int, int]
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Warp straight RGB + alpha by a 2 x 3 affine into a (width, height) canvas; returns straight colour.

    This is the renderer's own placement warp (:func:`packshot.render.compose.place_product`:
    premultiplied resampling, area pre-shrink when the product is scaled down), so the reference
    is exactly the locked product the renderer placed, not a differently filtered copy of it.
    """
    from ..render.compose import place_product

    placed = place_product(np.asarray(rgb, np.float32), np.asarray(alpha, np.float32),
                           np.asarray(matrix, np.float64), (int(size[0]), int(size[1])))
    a = np.clip(placed.alpha, 0.0, 1.0)
    return np.clip(placed.rgb, 0.0, 1.0).astype(np.float32), a.astype(np.float32)


def is_sidecar(path: Path) -> bool:
    """A frame sidecar: JSON with the keys save_frame writes (qa's own ``*_qa.json`` are not)."""
    import json

    if path.suffix.lower() != ".json" or path.name.endswith("_qa.json"):
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and all(k in data for k in ("sku", "variant", "product_alpha", "placement"))


def find_sidecars(root: Path) -> list[Path]:
    """Every frame sidecar under ``root`` (recursive, sorted), the unreadable ones included (checking
    them fails with the reason, so they count as errors); a sidecar file itself is returned as is."""
    from ..render.io import find_sidecars as scan

    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError(root, "frame folder does not exist")
    good, bad = scan(root)
    return sorted([*good, *(p for p, _ in bad)])


def load_frame_inputs(sidecar: Path) -> FrameInputs:
    """Frame, declared product alpha and the warped cut-out for one sidecar.

    Raises
    ------
    InputError
        The sidecar, frame, alpha or cut-out is missing or unreadable, or sizes disagree; the message
        names the file.
    """
    from ..render.io import read_sidecar

    sidecar = Path(sidecar)
    data = read_sidecar(sidecar)
    image = sidecar.with_name(f"{data['variant']}.png")
    frame = load_image(image)
    w, h = frame.size
    if [w, h] != [int(v) for v in data["size"]]:
        raise InputError(image, f"frame is {w}x{h} but its sidecar says {data['size'][0]}x{data['size'][1]}")
    alpha = load_mask(sidecar.parent / data["product_alpha"], size=(w, h))
    cut = data.get("cutout")
    if not cut:
        raise InputError(sidecar, "sidecar names no cut-out: the frame cannot be checked against its product")
    cut_path = Path(cut) if Path(cut).is_absolute() else (sidecar.parent / cut)
    if not cut_path.is_file():
        raise InputError(cut_path, f"cut-out named by {sidecar} does not exist")
    cutout = load_image(cut_path)
    if cutout.alpha is None:
        raise InputError(cut_path, "cut-out has no alpha channel")
    placement = data.get("placement") or {}
    matrix = placement.get("matrix")
    if matrix is None:
        box = alpha_bbox(cutout.alpha)
        if box is None:
            raise InputError(cut_path, "cut-out is empty (no alpha > 0.5)")
        matrix = Placement(tuple(placement.get("center", (w / 2, h / 2))), float(placement.get("scale", 1.0)),
                           float(placement.get("rotation", 0.0))).matrix(box)
    matrix = np.asarray(matrix, np.float64)
    if matrix.shape != (2, 3) or not np.isfinite(matrix).all():
        raise InputError(sidecar, f"placement matrix must be 2 x 3 finite numbers, got {matrix.tolist()}")
    ref_rgb, ref_alpha = warp_premultiplied(cutout.rgb, cutout.alpha, matrix, (w, h))
    return FrameInputs(sidecar=sidecar, image=image, sku=str(data["sku"]), scene=str(data.get("scene", "")),
                       variant=str(data["variant"]), frame_rgb=frame.rgb, product_alpha=alpha,
                       reference_rgb=ref_rgb, reference_alpha=ref_alpha, cutout=cut_path)


def find_master(master_dir: Path, sku: str) -> Path | None:
    """The master artwork for ``sku`` in ``master_dir``: ``<sku>.png``, ``<sku>_master.png``, or any image
    whose stem is the sku (or ``<sku>_master``); None when there is none."""
    master_dir = Path(master_dir)
    for name in (f"{sku}.png", f"{sku}_master.png"):
        if (master_dir / name).is_file():
            return master_dir / name
    if master_dir.is_dir():
        for p in sorted(master_dir.iterdir()):
            if p.suffix.lower() in SUPPORTED_SUFFIXES and p.stem in (sku, f"{sku}_master") and p.is_file():
                return p
    return None


def check_frame_file(sidecar: Path, master_rgb: np.ndarray | None = None, config=None, overlay: bool = True,
                     master_path: Path | None = None):
    """Check one written frame and write ``<variant>_qa.json`` (and ``<variant>_qa_overlay.png``)
    beside it, atomically. Used by ``packshot qa`` and by the pipeline.

    Returns
    -------
    (QAReport, FrameInputs)
    """
    import io

    from PIL import Image

    from ..imaging import atomic_write_bytes, atomic_write_text
    from . import QAConfig, qa_with_details
    from .overlay import make_overlay
    from .report import report_to_json

    config = config or QAConfig()
    inputs = load_frame_inputs(Path(sidecar))
    report, details = qa_with_details(inputs.frame_rgb, inputs.product_alpha, inputs.reference_rgb,
                                      inputs.reference_alpha, master_rgb, config)
    stem = inputs.variant
    text = report_to_json(report, frame=inputs.image.name, sku=inputs.sku, scene=inputs.scene,
                          variant=inputs.variant, master=str(master_path) if master_path else None)
    atomic_write_text(inputs.sidecar.with_name(f"{stem}_qa.json"), text)
    if overlay:
        img = make_overlay(inputs.frame_rgb, report, details, config.warp_review_px, config.warp_fail_px)
        buf = io.BytesIO()
        Image.fromarray(img, "RGB").save(buf, "PNG", compress_level=6)
        atomic_write_bytes(inputs.sidecar.with_name(f"{stem}_qa_overlay.png"), buf.getvalue())
    return report, inputs
