"""Reading what the qa checks need from a frame folder written by :func:`packshot.render.io.save_frame`.

The sidecar names the product alpha, the cut-out and the placement matrix (cut-out px -> frame px);
the cut-out is warped into the frame with premultiplied alpha to give the reference (the locked
product as it should look). A flat-lay frame's sidecar also names the shadow layer the renderer
drew (``"shadow": {"file", "box"}``, :func:`packshot.render.declared_shadow`): the silhouette check
models it. Master artwork is found per SKU in a folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..imaging import (DEFAULT_MAX_PIXELS, SUPPORTED_SUFFIXES, block_mean_linear, load_alpha8_reduced,
                       load_image_working, load_mask)
from ..ops.placement import place_straight
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
    scale: int = 1
    """Frame pixels per pixel of these arrays: 1, or an integer factor for frames over
    :data:`QA_WORKING_PIXELS` (checked at a working resolution, see :func:`load_frame_inputs`)."""
    shadow: np.ndarray | None = None
    """The shadow the frame declares (H x W share of the backdrop's light taken away), or None."""


QA_WORKING_PIXELS = 4096 * 4096
"""Frames with more pixels than this are checked at ``1 / factor`` of their size (integer
factor): the frame and its alpha block-averaged, the reference warped straight to that size.
Pixel thresholds are scaled with it (:func:`scaled_config`)."""


def scaled_config(config, factor: int):
    """``config`` with every threshold and size given in frame pixels divided by ``factor``."""
    import dataclasses

    if factor == 1:
        return config
    k = float(factor)
    px = ("edge_band_px", "outline_stretch_px", "growth_review_px", "growth_fail_px", "shrink_review_px",
          "shrink_fail_px", "small_print_px", "warp_review_px", "warp_fail_px", "drift_review_px", "drift_fail_px",
          "warp_agree_radius_px")
    changes = {name: getattr(config, name) / k for name in px}
    changes["backdrop_gaps_px"] = tuple(g / k for g in config.backdrop_gaps_px)
    changes["interior_erode_px"] = max(1, int(round(config.interior_erode_px / k)))
    return dataclasses.replace(config, **changes)


def warp_premultiplied(rgb: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, size: tuple[int, int]
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Warp straight RGB + alpha by a 2 x 3 affine into a (width, height) canvas; returns straight colour.

    This is the renderer's own placement warp (:func:`packshot.ops.placement.place_straight`:
    premultiplied resampling, area pre-shrink when the product is scaled down), so the reference
    is exactly the locked product the renderer placed, not a differently filtered copy of it.
    """
    return place_straight(rgb, alpha, matrix, size)


def is_sidecar(path: Path) -> bool:
    """A frame sidecar (:func:`packshot.framerecord.is_frame_record`; qa's own ``*_qa.json`` are not)."""
    from ..framerecord import is_frame_record

    return is_frame_record(path)


def find_sidecars(root: Path) -> list[Path]:
    """Every frame sidecar under ``root`` (recursive, sorted), the unreadable ones included (checking
    them fails with the reason, so they count as errors); a sidecar file itself is returned as is."""
    from ..framerecord import find_records as scan

    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError(root, "frame folder does not exist")
    good, bad = scan(root)
    return sorted([*good, *(p for p, _ in bad)])


def load_frame_inputs(sidecar: Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> FrameInputs:
    """Frame, declared product alpha and the warped cut-out for one sidecar.

    ``max_pixels`` is the pixel limit for the cut-out (written at the photo's size: a run whose
    photo limit was raised passes the same limit here).

    Raises
    ------
    InputError
        The sidecar, frame, alpha or cut-out is missing or unreadable, or sizes disagree; the message
        names the file.
    """
    from ..framerecord import read_record

    sidecar = Path(sidecar)
    data = read_record(sidecar)
    image = sidecar.with_name(f"{data['variant']}.png")
    loaded = load_image_working(image, working_pixels=QA_WORKING_PIXELS)
    scale = loaded.factor
    w, h = loaded.full_size
    frame = loaded.image
    del loaded  # a large frame's full-resolution pixels are not needed past the reduction
    if [w, h] != [int(v) for v in data["size"]]:
        raise InputError(image, f"frame is {w}x{h} but its sidecar says {data['size'][0]}x{data['size'][1]}")
    alpha_path = sidecar.parent / data["product_alpha"]
    alpha = load_alpha8_reduced(alpha_path, (w, h), scale) if scale > 1 else None
    if alpha is None:
        alpha = load_mask(alpha_path, size=(w, h))
        if scale > 1:
            alpha = block_mean_linear(alpha, scale)
    cut = data.get("cutout")
    if not cut:
        raise InputError(sidecar, "sidecar names no cut-out: the frame cannot be checked against its product")
    cut_path = Path(cut) if Path(cut).is_absolute() else (sidecar.parent / cut)
    if not cut_path.is_file():
        raise InputError(cut_path, f"cut-out named by {sidecar} does not exist")
    cut_rgb, cut_alpha, to_full = _cutout_arrays(cut_path, max_pixels)
    placement = data.get("placement") or {}
    matrix = placement.get("matrix")
    if matrix is None:
        box = alpha_bbox(cut_alpha)
        if box is not None and to_full is not None:
            f, ox, oy = to_full
            box = (box[0] * f + ox, box[1] * f + oy, box[2] * f + ox, box[3] * f + oy)
        if box is None:
            raise InputError(cut_path, "cut-out is empty (no alpha > 0.5)")
        matrix = Placement(tuple(placement.get("center", (w / 2, h / 2))), float(placement.get("scale", 1.0)),
                           float(placement.get("rotation", 0.0))).matrix(box)
    matrix = np.asarray(matrix, np.float64)
    if matrix.shape != (2, 3) or not np.isfinite(matrix).all():
        raise InputError(sidecar, f"placement matrix must be 2 x 3 finite numbers, got {matrix.tolist()}")
    if to_full is not None:
        # full-resolution pixel x = f * reduced x + (f - 1) / 2 + offset
        f, ox, oy = to_full
        c = (f - 1) / 2.0
        reduced = np.empty_like(matrix)
        reduced[:, :2] = matrix[:, :2] * f
        reduced[:, 2] = matrix[:, 2] + matrix[:, :2] @ np.array([c + ox, c + oy])
        matrix = reduced
    if scale > 1:
        ref_rgb, ref_alpha = _reference_reduced(cut_rgb, cut_alpha, matrix, (w, h), scale)
    else:
        ref_rgb, ref_alpha = warp_premultiplied(cut_rgb, cut_alpha, matrix, (w, h))
    shadow = _declared_shadow(sidecar, data.get("shadow"), (w, h), scale)
    return FrameInputs(sidecar=sidecar, image=image, sku=str(data["sku"]), scene=str(data.get("scene", "")),
                       variant=str(data["variant"]), frame_rgb=frame.rgb, product_alpha=alpha,
                       reference_rgb=ref_rgb, reference_alpha=ref_alpha, cutout=cut_path, scale=scale, shadow=shadow)


def _declared_shadow(sidecar: Path, entry, size: tuple[int, int], scale: int) -> np.ndarray | None:
    """The shadow layer a frame record declares (``"shadow": {"file", "box"}``, written by
    :func:`packshot.render.io.save_frame`) as an H x W map at the arrays' size (block-averaged at a
    working ``scale``), or None when it declares none."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or "file" not in entry or "box" not in entry:
        raise InputError(sidecar, f"'shadow' must be {{'file': ..., 'box': [x0, y0, x1, y1]}}, got {entry!r}")
    w, h = size
    try:
        x0, y0, x1, y1 = (int(v) for v in entry["box"])
    except (TypeError, ValueError):
        raise InputError(sidecar, f"shadow box must be 4 integers, got {entry['box']!r}") from None
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise InputError(sidecar, f"shadow box {[x0, y0, x1, y1]} is not inside the {w}x{h} frame")
    path = sidecar.parent / str(entry["file"])
    if not path.is_file():
        raise InputError(path, f"shadow layer named by {sidecar} does not exist")
    layer = load_mask(path, size=(x1 - x0, y1 - y0))
    k = int(scale)
    out = np.zeros((h // k, w // k), np.float32)
    # the box on the working grid (whole k x k blocks), block-averaged like the frame
    gx0, gy0 = (x0 // k) * k, (y0 // k) * k
    gx1, gy1 = min(-(-x1 // k) * k, (w // k) * k), min(-(-y1 // k) * k, (h // k) * k)
    if gx1 > gx0 and gy1 > gy0:
        region = np.zeros((gy1 - gy0, gx1 - gx0), np.float32)
        ry1, rx1 = min(y1, gy1), min(x1, gx1)
        region[y0 - gy0:ry1 - gy0, x0 - gx0:rx1 - gx0] = layer[:ry1 - y0, :rx1 - x0]
        out[gy0 // k:gy1 // k, gx0 // k:gx1 // k] = region if k == 1 else block_mean_linear(region, k)
    return out


_CUTOUTS: dict[tuple, tuple] = {}  # the last cut-out read: a SKU's frames are checked one after another
CUTOUT_CACHE_PIXELS = 4 * 1024 * 1024
"""Cut-outs of at most this many pixels (64 MiB as float32 colour and alpha) are kept for the next frame."""


def _cutout_arrays(cut_path: Path, max_pixels: int | None) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """(rgb, alpha, to_full) of the cut-out a frame is checked against: linear straight colour and
    alpha, and for a cut-out at a large photo's size its reduction ``(factor, x offset, y offset)``
    (else None). Every frame of a SKU names the same cut-out: the last one read is kept (keyed by
    its path, size, mtime and inode, so a rewritten file is read again; the arrays are read-only)."""
    st = cut_path.stat()
    key = (str(cut_path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, max_pixels)
    if key in _CUTOUTS:
        return _CUTOUTS[key]
    cut = load_image_working(cut_path, max_pixels=max_pixels)
    if cut.factor > 1:
        # a cut-out at a large photo's size: reduced (premultiplied, cropped to the product)
        # to the working resolution the frame was rendered from, never held as full-size floats
        arrays = _reduced_cutout(cut_path, cut)
        del cut
    else:
        arrays = (cut.image.rgb, cut.image.alpha, None)
        if arrays[1] is None:
            raise InputError(cut_path, "cut-out has no alpha channel")
    for a in arrays[:2]:
        a.setflags(write=False)
    _CUTOUTS.clear()
    if arrays[1].size <= CUTOUT_CACHE_PIXELS:  # a larger one is not held between frames (memory)
        _CUTOUTS[key] = arrays
    return arrays


def _reference_reduced(rgb: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, size: tuple[int, int], k: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The reference of a frame checked at ``1 / k``: placed at the frame's full size exactly as the
    renderer placed it (only the product's region is held), then block-averaged like the frame
    (premultiplied), so frame and reference are filtered alike."""
    from ..ops.placement import place_product

    w, h = int(size[0]), int(size[1])
    hw, ww = h // k, w // k
    placed = place_product(np.asarray(rgb, np.float32), np.asarray(alpha, np.float32),
                           np.asarray(matrix, np.float64), (w, h))
    out = np.zeros((hw, ww, 3), np.float32)
    a_out = np.zeros((hw, ww), np.float32)
    y0, y1, x0, x1 = placed.region
    gy0, gx0 = (y0 // k) * k, (x0 // k) * k
    gy1, gx1 = min(-(-y1 // k) * k, hw * k), min(-(-x1 // k) * k, ww * k)
    if gy1 > gy0 and gx1 > gx0:
        # only the product's region: placed, block-averaged (premultiplied), un-premultiplied
        red = block_mean_linear(placed.window(slice(gy0, gy1), slice(gx0, gx1)), k)
        del placed
        a = np.clip(red[..., 3], 0.0, 1.0)
        straight = np.zeros(red.shape[:2] + (3,), np.float32)
        np.divide(red[..., :3], a[..., None], out=straight, where=a[..., None] > 1e-4)
        ys, xs = slice(gy0 // k, gy1 // k), slice(gx0 // k, gx1 // k)
        out[ys, xs] = np.clip(straight, 0.0, 1.0)
        a_out[ys, xs] = a
    return out, a_out


def _reduced_cutout(cut_path: Path, cut) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """(rgb, alpha, (factor, x offset, y offset)) of a large cut-out: the product's region, cropped
    on the working grid, reduced by ``cut.factor`` with premultiplied block means in linear light."""
    from ..imaging import srgb8_to_linear

    k = cut.factor
    if cut.full_alpha8 is None:
        raise InputError(cut_path, "cut-out has no alpha channel")
    a8 = cut.full_alpha8
    rows = np.flatnonzero(a8.any(axis=1))
    if rows.size == 0:
        raise InputError(cut_path, "cut-out is empty (no alpha > 0)")
    cols = np.flatnonzero(a8.any(axis=0))
    H, W = a8.shape
    # crop on the working grid (multiples of k), one block of margin
    x0 = max(0, (int(cols[0]) // k - 1) * k)
    y0 = max(0, (int(rows[0]) // k - 1) * k)
    x1 = min((W // k) * k, (int(cols[-1]) // k + 2) * k)
    y1 = min((H // k) * k, (int(rows[-1]) // k + 2) * k)
    h, w = (y1 - y0) // k, (x1 - x0) // k
    prem = np.empty((h, w, 3), np.float32)
    alpha = np.empty((h, w), np.float32)
    band = 64
    for r0 in range(0, h, band):
        r1 = min(h, r0 + band)
        ys = slice(y0 + r0 * k, y0 + r1 * k)
        a = cut.full_alpha8[ys, x0:x1].astype(np.float32) / np.float32(255.0)
        c = srgb8_to_linear(cut.full_rgb8[ys, x0:x1]) * a[..., None]
        alpha[r0:r1] = a.reshape(r1 - r0, k, w, k).mean(axis=(1, 3), dtype=np.float32)
        prem[r0:r1] = c.reshape(r1 - r0, k, w, k, 3).mean(axis=(1, 3), dtype=np.float32)
    rgb = np.where(alpha[..., None] > 1e-6, prem / np.maximum(alpha, 1e-6)[..., None], 0.0).astype(np.float32)
    return np.clip(rgb, 0.0, 1.0), alpha, (k, x0, y0)


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
                     master_path: Path | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS):
    """Check one written frame and write ``<variant>_qa.json`` (and ``<variant>_qa_overlay.png``)
    beside it, atomically. Used by ``packshot qa`` and by the pipeline.

    Returns
    -------
    (QAReport, FrameInputs)
    """
    from ..imaging import atomic_write_bytes, atomic_write_text, encode_png
    from ..framerecord import read_record
    from . import QAConfig, qa_with_details
    from .overlay import make_overlay
    from .report import FLAG_NOTES, frame_flags, report_to_json

    config = config or QAConfig()
    inputs = load_frame_inputs(Path(sidecar), max_pixels=max_pixels)
    config = scaled_config(config, inputs.scale)
    prov = read_record(inputs.sidecar).get("provenance") or {}
    see_through = bool((prov.get("transmission") or {}).get("applied")) if isinstance(prov, dict) else False
    report, details = qa_with_details(inputs.frame_rgb, inputs.product_alpha, inputs.reference_rgb,
                                      inputs.reference_alpha, master_rgb, config, see_through=see_through,
                                      shadow=inputs.shadow)
    if inputs.scale > 1:
        import dataclasses

        # pixel figures in the report are working pixels: say how many frame pixels each is
        report = dataclasses.replace(report, metrics={**report.metrics, "working_scale": inputs.scale})
    stem = inputs.variant
    flags = frame_flags(prov)
    text = report_to_json(report, frame=inputs.image.name, sku=inputs.sku, scene=inputs.scene,
                          variant=inputs.variant, master=str(master_path) if master_path else None,
                          **({"flags": flags, "flag_notes": [FLAG_NOTES[f] for f in flags]} if flags else {}))
    atomic_write_text(inputs.sidecar.with_name(f"{stem}_qa.json"), text)
    if overlay:
        img = make_overlay(inputs.frame_rgb, report, details, config.warp_review_px, config.warp_fail_px)
        # compress level 1: ~4x faster than 6 (~1.3x faster than 3) for ~+20 % size, the same pixels (issue 12)
        atomic_write_bytes(inputs.sidecar.with_name(f"{stem}_qa_overlay.png"), encode_png(img, "RGB", compress_level=1))
    return report, inputs
