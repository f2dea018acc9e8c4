"""Writing and reading frames: ``<out>/<sku>/<scene>/<variant>.png`` + ``.json`` + ``_alpha.png``.

The sidecar JSON (the frame record: schema, versions, read / write / detect in
:mod:`packshot.framerecord`) is what qa and export read::

    {"record_version": 1, "sku", "scene", "variant", "size": [w, h], "product_box": [x0, y0, x1, y1],
     "product_alpha": "<variant>_alpha.png",          # relative to the json
     "cutout": "<path of the cut-out RGBA png>",        # relative to the json, or absolute
     "placement": {"matrix": [[a, b, c], [d, e, f]],    # cut-out px -> frame px
                   "center": [x, y], "scale": s, "rotation": deg},
     "source_kind": "embedded" | "diffusion" | "capture",
     "spec": {...},                                     # light, floor, preset, prompts, seed
     "provenance": {...},                               # every stage's record, input hashes
     "outputs": {"<variant>.png": {"sha256", "size"},   # what was written (packshot.integrity):
                 "<variant>_alpha.png": {...}}}         # a resumed run trusts a frame only if these match

A flat-lay frame also declares its shadow layer (:func:`packshot.render.declared_shadow`), which qa
models when it finds the product's outline: ``"shadow": {"file": "<variant>_shadow.png", "box": [x0, y0,
x1, y1]}``, an 8-bit grey PNG over ``box`` of the share of the backdrop's light the shadow takes away
(0..255 = 0..1; 0 outside the box), listed in ``outputs`` too.

PNG bytes depend only on the pixels (no timestamps), so the same inputs and seed give the same
files. Writes are atomic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..framerecord import (NOT_FRAME_JSON, RECORD_VERSION, REQUIRED_KEYS, classify, find_records,  # noqa: F401
                           read_record, write_record)
from ..imaging import atomic_write_bytes, encode_png, float_to_uint8, linear_to_srgb8, load_image, load_mask
from ..integrity import record_outputs
from ..types import Frame, Light, Placement, RegionLayer, SceneSpec

SIDECAR_VERSION = RECORD_VERSION  # the frame record's schema: packshot.framerecord


def frame_stem(frame_or_spec: Frame | SceneSpec) -> str:
    """File-name stem of a frame: the variant name chosen by condition (``v0``, ``v0_1080x1350``)."""
    spec = frame_or_spec.spec if isinstance(frame_or_spec, Frame) else frame_or_spec
    name = spec.provenance.get("variant_name") if spec.provenance else None
    return str(name) if name else f"v{spec.variant}"


def frame_paths(out_dir: str | Path, frame_or_spec: Frame | SceneSpec) -> tuple[Path, Path]:
    """Where :func:`save_frame` writes a frame's PNG and its sidecar JSON (the alpha is
    ``<stem>_alpha.png`` beside them, see :func:`alpha_path`)."""
    spec = frame_or_spec.spec if isinstance(frame_or_spec, Frame) else frame_or_spec
    folder = Path(out_dir) / spec.sku / spec.scene
    stem = frame_stem(spec)
    return folder / f"{stem}.png", folder / f"{stem}.json"


def shadow_path(png_path: str | Path) -> Path:
    """The declared-shadow PNG written beside a flat-lay frame's PNG."""
    p = Path(png_path)
    return p.with_name(f"{p.stem}_shadow.png")


def alpha_path(png_path: str | Path) -> Path:
    """The product-alpha PNG written beside a frame's PNG."""
    p = Path(png_path)
    return p.with_name(f"{p.stem}_alpha.png")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        # wall-clock timings differ run to run: they stay in memory, out of the byte-stable sidecar
        return {str(k): _jsonable(v) for k, v in value.items() if k != "timings"}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return None  # arrays (a plate photo) are referenced by path and hash, never inlined
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def spec_to_dict(spec: SceneSpec) -> dict[str, Any]:
    """JSON-ready description of a spec (the plate array is left out; its path and hash stay)."""
    return _jsonable({
        "sku": spec.sku, "scene": spec.scene, "variant": spec.variant, "canvas": list(spec.canvas),
        "placement": {"center": list(spec.placement.center), "scale": spec.placement.scale,
                      "rotation": spec.placement.rotation},
        "light": {"azimuth": spec.light.azimuth, "elevation": spec.light.elevation,
                  "softness": spec.light.softness, "kelvin": spec.light.kelvin, "intensity": spec.light.intensity},
        "preset": spec.preset, "backdrop": dict(spec.backdrop), "floor_y": spec.floor_y,
        "floor_gloss": spec.floor_gloss, "palette": [list(c) for c in spec.palette], "prompt": spec.prompt,
        "negative_prompt": spec.negative_prompt, "seed": spec.seed, "references": list(spec.references),
    })


_BAND_ROWS = 256  # a multiple of 4: the ordered-dither tile lines up with a whole-image pass
FRAME_PNG_COMPRESS_LEVEL = 3
"""zlib level of the frame PNG (a lossless working master; the delivered files are the exports).
Level 6 (Pillow's default) took ~0.34 CPU s of a 1024 x 1024 frame's ~3 s in the catalogue;
level 3 takes ~0.1 s for files ~8 % larger, with the same pixels."""


def encode_frame_png(rgb: np.ndarray) -> bytes:
    """The frame's PNG bytes: the pixels of :func:`packshot.imaging.encode_image` ``(rgb, "PNG")``
    (dithered 8-bit sRGB with the sRGB profile) at zlib level :data:`FRAME_PNG_COMPRESS_LEVEL`, with
    the 8-bit conversion done in bands of rows (no full-size float temporaries: a large canvas
    would need several)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be H x W x 3, got shape {rgb.shape}")
    rgb8 = np.empty(rgb.shape, np.uint8)
    for r0 in range(0, rgb.shape[0], _BAND_ROWS):
        rgb8[r0:r0 + _BAND_ROWS] = linear_to_srgb8(rgb[r0:r0 + _BAND_ROWS], dither=True)
    return encode_png(rgb8, "RGB", icc=True, compress_level=FRAME_PNG_COMPRESS_LEVEL)


def _alpha_png(alpha: np.ndarray) -> bytes:
    """8-bit grey PNG of a [0, 1] map: exactly what :func:`packshot.imaging.save_gray` writes."""
    a = np.asarray(alpha)
    if a.ndim != 2:
        raise ValueError(f"alpha must be H x W, got shape {a.shape}")
    a8 = np.empty(a.shape, np.uint8)
    for r0 in range(0, a.shape[0], _BAND_ROWS):
        a8[r0:r0 + _BAND_ROWS] = float_to_uint8(np.clip(np.asarray(a[r0:r0 + _BAND_ROWS], np.float32), 0.0, 1.0))
    return encode_png(a8, "L")


def save_frame(out_dir: str | Path, frame: Frame, cutout_path: str | Path | None = None,
               shadow: RegionLayer | None = None) -> Path:
    """Write a frame, its product alpha and its sidecar; returns the sidecar's path.

    Parameters
    ----------
    out_dir : path
        Root folder; the frame goes to ``out_dir/<sku>/<scene>/<variant>.png``.
    frame : Frame
    cutout_path : path, optional
        The cut-out RGBA PNG the frame was built from (recorded relative to the sidecar when
        it lies under the same root, else absolute).
    shadow : RegionLayer, optional
        The shadow the frame declares (:func:`packshot.render.declared_shadow`), taken before its layers
        were let go; default: the frame's own declared shadow (None for a frame without layers).
    """
    png, sidecar_path = frame_paths(out_dir, frame)
    paths = {"png": png, "json": sidecar_path, "alpha": alpha_path(png)}
    png.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(png, encode_frame_png(frame.rgb))
    atomic_write_bytes(paths["alpha"], _alpha_png(frame.product_alpha))
    written = [png, paths["alpha"]]
    shadow_entry = None
    from .flatlay import declared_shadow

    if shadow is None:
        shadow = declared_shadow(frame)
    if shadow is not None:
        spath = shadow_path(png)
        atomic_write_bytes(spath, _alpha_png(shadow.data))
        written.append(spath)
        shadow_entry = {"file": spath.name, "box": [int(v) for v in shadow.box]}
    outputs = record_outputs(written, png.parent)
    cut = None
    if cutout_path is not None:
        cp = Path(cutout_path).resolve()
        try:
            cut = os.path.relpath(cp, paths["json"].parent.resolve())
        except ValueError:  # another drive (Windows)
            cut = str(cp)
        if cut.count("..") > 3:
            cut = str(cp)
    render_prov = frame.provenance.get("render", {})
    matrix = render_prov.get("matrix")
    sidecar = {
        "sku": frame.spec.sku,
        "scene": frame.spec.scene,
        "variant": frame_stem(frame),
        "variant_index": frame.spec.variant,
        "size": list(frame.size),
        "product_box": [int(v) for v in frame.product_box],
        "product_alpha": paths["alpha"].name,
        "cutout": cut,
        "placement": {"matrix": matrix, "center": list(frame.spec.placement.center),
                      "scale": frame.spec.placement.scale, "rotation": frame.spec.placement.rotation},
        "source_kind": frame.source_kind,
        "spec": spec_to_dict(frame.spec),
        "provenance": _jsonable(dict(frame.provenance)),
        "outputs": outputs,
    }
    if shadow_entry is not None:
        sidecar["shadow"] = shadow_entry
    write_record(paths["json"], sidecar)
    return paths["json"]


def read_sidecar(json_path: str | Path) -> dict[str, Any]:
    """The sidecar as a dict (clear errors for a missing or broken file): :func:`packshot.framerecord.read_record`."""
    return dict(read_record(json_path))


SIDECAR_KEYS = REQUIRED_KEYS
BYPRODUCT_SUFFIXES = ("_alpha", "_mask", "_qa_overlay", "_matte", "_shadow")
"""Stems ending so are masks and overlays, never product images."""
classify_json = classify
"""What a ``.json`` file in a frame folder is (see :func:`packshot.framerecord.classify`)."""
find_sidecars = find_records
"""Frame sidecars under a folder and the unreadable ones (see :func:`packshot.framerecord.find_records`)."""


def is_byproduct_image(path: str | Path) -> bool:
    """A mask, map, cut-out or overlay packshot wrote (never to be taken for a product image)."""
    p = Path(path)
    stem = p.stem.lower()
    if stem == "cutout" or stem.endswith(BYPRODUCT_SUFFIXES):
        return True
    # a catalogue's copies of its source photos (DIR/sources/ beside the job store DIR/packshot.db)
    if p.parent.name == "sources" and (p.parent.parent / "packshot.db").exists():
        return True
    # a maps folder (understand/io.py) or an inspect folder: its PNGs are maps
    return (p.parent / "maps.json").exists()


def load_frame(json_path: str | Path) -> Frame:
    """Read a frame written by :func:`save_frame` back (linear RGB, alpha, spec, provenance).

    The spec is rebuilt from the sidecar (a plate scene's photo is not reloaded: ``plate`` is
    None). ``provenance["sidecar"]`` holds the sidecar path and its ``cutout`` entry resolved.
    """
    p = Path(json_path)
    data = read_sidecar(p)
    png = p.with_name(f"{data['variant']}.png")
    img = load_image(png)
    w, h = img.size
    if [w, h] != list(data["size"]):
        raise InputError(png, f"frame is {w}x{h} but its sidecar says {data['size'][0]}x{data['size'][1]}")
    alpha = load_mask(p.parent / data["product_alpha"], size=(w, h))
    s = data.get("spec", {})
    pl = data.get("placement", {})
    li = s.get("light", {})
    spec = SceneSpec(
        sku=data["sku"], scene=data["scene"], variant=int(data.get("variant_index", 0)), canvas=(w, h),
        placement=Placement(tuple(pl.get("center", (w / 2, h / 2))), float(pl.get("scale", 1.0)),
                            float(pl.get("rotation", 0.0))),
        light=Light(**{k: float(v) for k, v in li.items()}) if li else Light(),
        preset=s.get("preset", ""), backdrop=s.get("backdrop", {}), floor_y=float(s.get("floor_y", h)),
        floor_gloss=float(s.get("floor_gloss", 0.0)), palette=tuple(tuple(c) for c in s.get("palette", ())),
        prompt=s.get("prompt", ""), negative_prompt=s.get("negative_prompt", ""), seed=int(s.get("seed", 0)),
        references=tuple(s.get("references", ())),
        provenance={**(data.get("provenance", {}).get("condition", {})), "variant_name": data["variant"]},
    )
    provenance = dict(data.get("provenance", {}))
    cut = data.get("cutout")
    provenance["sidecar"] = {"path": str(p), "cutout": str((p.parent / cut).resolve()) if cut else None}
    box = tuple(int(v) for v in data["product_box"])
    return Frame(rgb=img.rgb, product_alpha=alpha, product_box=box, spec=spec,  # type: ignore[arg-type]
                 source_kind=data.get("source_kind", "embedded"), provenance=provenance)
