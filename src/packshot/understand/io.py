"""Write and read :class:`ProductMaps` as a folder of images plus ``maps.json``.

Files (all at the cut-out's size, written atomically):

``depth.png``
    16-bit grey, ``depth`` in [0, 1] (0 = background / farthest, 65535 = nearest point).
``normals.png``
    8-bit RGB, ``(n + 1) / 2`` per channel (x right, y up, z toward the camera); no colour
    transform (these are vectors, not colours). Background pixels hold (0, 0, 1).
``edges.png``
    8-bit grey, 255 on an edge.
``materials.png``
    8-bit RGB: red = specular, green = transparency, blue = reflective likelihood.
``maps.json``
    Palette, text lines (polygon, box, confidence), flags with reasons, material scores,
    provenance and the file names above. Same inputs give the same bytes.
``timings.log``
    Wall-clock seconds per step, one ``name seconds`` line each. Timings differ run to run, so
    they live in this log, never in maps.json or an image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..imaging import (MAX_DOCUMENT_BYTES, atomic_write_bytes, atomic_write_text, decode_raw, encode_png,
                       float_to_uint8, read_bounded, save_gray, uint8_to_float)
from ..provenance import json_default
from ..types import Cutout, Materials, PaletteColor, ProductMaps, RiskFlag, TextLine

FILES = {"depth": "depth.png", "normals": "normals.png", "edges": "edges.png",
         "materials": "materials.png", "json": "maps.json"}
TIMINGS_LOG = "timings.log"
SCHEMA = "packshot.understand.maps/1"


def _png_bytes(array: np.ndarray, mode: str) -> bytes:
    return encode_png(array, mode, compress_level=6)


def maps_to_json(maps: ProductMaps, cutout: Cutout | None = None) -> dict[str, Any]:
    """The JSON-serialisable part of the maps (everything but the pixel maps)."""
    m = maps.materials
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "size": [int(maps.depth.shape[1]), int(maps.depth.shape[0])],
        "files": {k: v for k, v in FILES.items() if k != "json"},
        "product_box": list(cutout.bbox) if cutout is not None and cutout.bbox is not None else None,
        "palette": [{"lab": list(p.lab), "rgb_linear": list(p.rgb), "share": p.share} for p in maps.palette],
        "text": [{"text": t.text, "polygon": [list(pt) for pt in t.polygon], "box": list(t.box),
                  "confidence": t.confidence} for t in maps.text],
        "flags": [{"code": f.code, "reason": f.reason, "recommendation": f.recommendation, "score": round(f.score, 4)}
                  for f in maps.flags],
        "materials": {"specular_score": m.specular_score, "transparency_score": m.transparency_score,
                      "reflective_score": m.reflective_score},
        "provenance": dict(maps.provenance),
    }
    return out


def save_maps(folder: str | Path, maps: ProductMaps, cutout: Cutout | None = None) -> dict[str, Path]:
    """Write the maps into ``folder`` (created if needed). Returns the written paths by name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {k: folder / v for k, v in FILES.items()}
    save_gray(paths["depth"], maps.depth, bits=16)
    normals8 = float_to_uint8((np.asarray(maps.normals, np.float32) + 1.0) / 2.0)
    atomic_write_bytes(paths["normals"], _png_bytes(normals8, "RGB"))
    save_gray(paths["edges"], maps.edges, bits=8)
    mat = maps.materials
    stack = np.stack([mat.specular, mat.transparency, mat.reflective], axis=-1)
    atomic_write_bytes(paths["materials"], _png_bytes(float_to_uint8(stack), "RGB"))
    # json last: its presence means the folder is complete (the CLI resumes on it)
    atomic_write_text(paths["json"], json.dumps(maps_to_json(maps, cutout), indent=2, default=json_default) + "\n")
    paths["log"] = folder / TIMINGS_LOG
    atomic_write_text(paths["log"], "".join(f"{k} {float(v):.4f}\n" for k, v in maps.timings.items()))
    return paths


def _read_timings(path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return out
    for line in lines:
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            continue
    return out


def _read_png(path: Path) -> np.ndarray:
    if not Path(path).exists():
        raise InputError(path, "map file is missing (was the folder written by save_maps?)")
    data = read_bounded(path, "map file")  # regular files only, size cap
    return decode_raw(data, path, "map file")


def load_maps(folder: str | Path) -> ProductMaps:
    """Read a folder written by :func:`save_maps` back into :class:`ProductMaps`."""
    folder = Path(folder)
    jpath = folder / FILES["json"]
    try:
        if not jpath.exists():
            raise FileNotFoundError(jpath)
        meta = json.loads(read_bounded(jpath, "maps.json", MAX_DOCUMENT_BYTES))
    except FileNotFoundError as exc:
        raise InputError(jpath, "maps.json is missing: not a folder written by save_maps") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(jpath, f"maps.json is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if meta.get("schema") != SCHEMA:
        raise InputError(jpath, f"unknown schema {meta.get('schema')!r}, expected {SCHEMA!r}")
    depth_raw = _read_png(folder / FILES["depth"])
    depth = (depth_raw.astype(np.float32) / (65535.0 if depth_raw.dtype != np.uint8 else 255.0)).astype(np.float32)
    normals = uint8_to_float(_read_png(folder / FILES["normals"])[..., :3]) * 2.0 - 1.0
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-6)
    edges = uint8_to_float(_read_png(folder / FILES["edges"]))
    mat = uint8_to_float(_read_png(folder / FILES["materials"])[..., :3])
    scores = meta.get("materials", {})
    materials = Materials(
        specular=np.ascontiguousarray(mat[..., 0]), transparency=np.ascontiguousarray(mat[..., 1]),
        reflective=np.ascontiguousarray(mat[..., 2]), specular_score=float(scores.get("specular_score", 0.0)),
        transparency_score=float(scores.get("transparency_score", 0.0)),
        reflective_score=float(scores.get("reflective_score", 0.0)),
    )
    palette = tuple(PaletteColor(lab=tuple(p["lab"]), rgb=tuple(p["rgb_linear"]), share=float(p["share"]))
                    for p in meta.get("palette", []))
    text = tuple(TextLine(text=t["text"], polygon=tuple(tuple(pt) for pt in t["polygon"]),
                          confidence=float(t["confidence"])) for t in meta.get("text", []))
    flags = tuple(RiskFlag(code=f["code"], reason=f["reason"], recommendation=f["recommendation"],
                           score=float(f.get("score", 1.0))) for f in meta.get("flags", []))
    return ProductMaps(depth=depth, normals=normals.astype(np.float32), edges=edges, materials=materials,
                       palette=palette, text=text, flags=flags, timings=meta.get("timings") or _read_timings(folder / TIMINGS_LOG),
                       provenance=meta.get("provenance", {}))
