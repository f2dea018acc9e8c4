"""A run folder of small generated frames, laid out exactly as the pipeline writes them, for the review
app's tests and benchmarks (and for trying the app without rendering anything).

``make_sample_run(root, skus=3, scenes=("hero", "podium"), variants=2)`` writes::

    root/photos/<sku>.png                       the "source photo" (outside the run folder, as in real runs)
    root/run/<sku>/cutout.png                   RGBA cut-out
    root/run/<sku>/maps/maps.json               with one text region (for the OCR-box overlay)
    root/run/<sku>/<scene>/<variant>.png        frame, with .json sidecar, _alpha.png and _qa.json

QA verdicts cycle pass, pass, review, fail (with reasons in words). Returns the run folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

from ..framerecord import write_record
from ..imaging import encode_png

VERDICT_CYCLE = ("pass", "pass", "review", "fail")


def _png(img: Image.Image) -> bytes:
    return encode_png(img, compress_level=1)


def _images(index: int, size: int = 128):
    """Photo, cut-out, frame and frame alpha for one SKU (a coloured box with a label stripe)."""
    hue = (index * 47) % 255
    colour = (hue, 255 - hue, (hue * 3) % 255)
    photo = Image.new("RGB", (size * 2, size * 2), (236, 236, 232))
    d = ImageDraw.Draw(photo)
    d.rectangle([size // 2, size // 3, size + size // 2, size + size // 2], fill=colour)
    d.rectangle([size // 2 + 8, size // 2, size + size // 2 - 8, size // 2 + 14], fill=(250, 250, 250))
    cut = Image.new("RGBA", photo.size, (0, 0, 0, 0))
    mask = Image.new("L", photo.size, 0)
    ImageDraw.Draw(mask).rectangle([size // 2, size // 3, size + size // 2, size + size // 2], fill=255)
    cut.paste(photo, (0, 0), mask)
    frame = Image.new("RGB", (size, size), (245, 240, 235))
    small = cut.resize((size, size), Image.BILINEAR)
    frame.paste(small, (0, 0), small)
    alpha = small.getchannel("A")
    return photo, cut, frame, alpha


def make_sample_run(root: str | Path, skus: int = 3, scenes: tuple[str, ...] = ("hero", "podium"),
                    variants: int = 2, size: int = 128, reuse_images: bool = False) -> Path:
    """Write a run folder of ``skus x scenes x variants`` frames under ``root/run``; return it.

    ``reuse_images`` draws one SKU's images and writes the same bytes for every SKU (fast, for the
    5,000-frame benchmark); otherwise each SKU gets its own colour.
    """
    root = Path(root)
    run = root / "run"
    photos = root / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    cached = None
    scale = 0.5  # cut-out px -> frame px
    matrix = [[scale, 0.0, 0.0], [0.0, scale, 0.0]]
    n = 0
    for s in range(skus):
        sku = f"sku-{s:05d}"
        if cached is None or not reuse_images:
            photo, cut, frame, alpha = _images(s, size)
            cached = (_png(photo), _png(cut), _png(frame), _png(alpha))
        photo_b, cut_b, frame_b, alpha_b = cached
        photo_path = photos / f"{sku}.png"
        photo_path.write_bytes(photo_b)
        sku_dir = run / sku
        (sku_dir / "maps").mkdir(parents=True, exist_ok=True)
        (sku_dir / "cutout.png").write_bytes(cut_b)
        label_y = size // 2
        (sku_dir / "maps" / "maps.json").write_text(json.dumps({"text": [
            {"text": "NET WT 12 OZ", "box": [size // 2 + 8, label_y, size + size // 2 - 8, label_y + 14],
             "polygon": [], "confidence": 0.9}]}))
        for scene in scenes:
            folder = sku_dir / scene
            folder.mkdir(parents=True, exist_ok=True)
            for v in range(variants):
                stem = f"v{v}"
                verdict = VERDICT_CYCLE[n % len(VERDICT_CYCLE)]
                n += 1
                (folder / f"{stem}.png").write_bytes(frame_b)
                (folder / f"{stem}_alpha.png").write_bytes(alpha_b)
                sidecar = {"sku": sku, "scene": scene, "variant": stem, "variant_index": v,
                           "size": [size, size], "product_box": [size // 4, size // 6, 3 * size // 4, 3 * size // 4],
                           "product_alpha": f"{stem}_alpha.png", "cutout": "../cutout.png",
                           "placement": {"matrix": matrix, "center": [size / 2, size / 2], "scale": scale,
                                         "rotation": 0.0},
                           "source_kind": "embedded", "spec": {"seed": 7},
                           "provenance": {"photo": str(photo_path.resolve())}}
                write_record(folder / f"{stem}.json", sidecar)
                checks = [{"name": "silhouette.iou", "status": "pass", "value": 0.99, "threshold": [0.97, 0.9],
                           "message": "IoU of the product found in the frame vs the locked mask 0.99"}]
                reasons = []
                if verdict == "review":
                    checks.append({"name": "colour.mean_de", "status": "review", "value": 3.4, "threshold": [3.0, 6.0],
                                   "message": "mean deltaE2000 on the product interior 3.40"})
                    reasons = ["colour.mean_de: mean deltaE2000 on the product interior 3.40"]
                elif verdict == "fail":
                    checks.append({"name": "text.critical", "status": "fail", "value": 1, "threshold": 0,
                                   "message": "critical token '12' changed to '17'"})
                    reasons = ["text.critical: critical token '12' changed to '17'"]
                qa = {"schema_version": 1, "sku": sku, "scene": scene, "variant": stem, "frame": f"{stem}.png",
                      "verdict": verdict, "reasons": reasons, "checks": checks, "master": None,
                      "metrics": {"warnings": []}}
                (folder / f"{stem}_qa.json").write_text(json.dumps(qa))
    return run


def frame_ids(run: Path) -> list[str]:
    """Every frame id of a sample run, in queue order."""
    return sorted(p.relative_to(run).with_suffix("").as_posix() for p in Path(run).glob("*/*/v*.json")
                  if not p.name.endswith("_qa.json"))


__all__ = ["make_sample_run", "frame_ids", "VERDICT_CYCLE"]
