"""Work done once instead of twice (issue 12): the catalogue's export takes the frame's pixels as
its QA decoded them, QA keeps a SKU's cut-out for its next frame. Each must give exactly what
reading the files again gives."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from packshot.imaging import save_gray, save_image


def _frame(tmp_path, variant="v0"):
    rng = np.random.default_rng(3)
    frame = rng.random((48, 64, 3), dtype=np.float32)
    alpha = np.zeros((48, 64), np.float32)
    alpha[10:40, 20:44] = np.linspace(0.2, 1.0, 24, dtype=np.float32)
    folder = tmp_path / "out" / "sku" / "studio"
    save_image(folder / f"{variant}.png", frame)
    save_gray(folder / f"{variant}_alpha.png", alpha)
    cut_alpha = np.zeros((32, 32), np.float32)
    cut_alpha[4:28, 8:24] = 1.0
    save_image(tmp_path / "out" / "sku" / "cutout.png", np.full((32, 32, 3), 0.7, np.float32), alpha=cut_alpha)
    side = {"sku": "sku", "scene": "studio", "variant": variant, "variant_index": 0, "size": [64, 48],
            "product_box": [20, 10, 44, 40], "product_alpha": f"{variant}_alpha.png", "cutout": "../cutout.png",
            "placement": {"matrix": [[1, 0, 16], [0, 1, 8]], "center": [32, 24], "scale": 1.0, "rotation": 0.0},
            "source_kind": "embedded", "provenance": {"stage": "test", "render": {"backend": "studio"}}}
    (folder / f"{variant}.json").write_text(json.dumps(side))
    return folder / f"{variant}.json"


def test_export_frame_from_qa_pixels_is_the_frame_read_from_its_files(tmp_path):
    from packshot.export import load_export_frame
    from packshot.qa.frames import load_frame_inputs

    sidecar = _frame(tmp_path)
    inputs = load_frame_inputs(sidecar)
    assert inputs.scale == 1
    read = load_export_frame(sidecar)
    given = load_export_frame(sidecar, pixels=(inputs.frame_rgb, inputs.product_alpha))
    for f in dataclasses.fields(read):
        a, b = getattr(read, f.name), getattr(given, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), f.name
        else:
            assert a == b, f.name
    # pixels of another size are refused, naming the frame
    import pytest

    from packshot.errors import InputError

    with pytest.raises(InputError, match="v0.png"):
        load_export_frame(sidecar, pixels=(inputs.frame_rgb[:-1], inputs.product_alpha[:-1]))


def test_qa_keeps_the_cutout_for_the_next_frame_and_reads_a_rewritten_one_again(tmp_path):
    from packshot.qa import frames

    sidecar = _frame(tmp_path)
    first = frames.load_frame_inputs(sidecar)
    kept = next(iter(frames._CUTOUTS.values()))
    second = frames.load_frame_inputs(sidecar)
    assert next(iter(frames._CUTOUTS.values())) is kept  # not decoded again
    assert np.array_equal(first.reference_rgb, second.reference_rgb)
    assert not kept[0].flags.writeable  # shared: read-only
    cut = tmp_path / "out" / "sku" / "cutout.png"
    cut_alpha = np.zeros((32, 32), np.float32)
    cut_alpha[4:28, 8:24] = 1.0
    save_image(cut, np.full((32, 32, 3), 0.2, np.float32), alpha=cut_alpha)
    os.utime(cut, ns=(1, 1))  # even with an mtime that went back: the key changed
    third = frames.load_frame_inputs(sidecar)
    inside = third.reference_alpha > 0.99
    assert inside.any() and not np.allclose(third.reference_rgb[inside], second.reference_rgb[inside])


def test_ocr_engine_on_one_thread_reads_the_same_lines():
    """Catalogue workers run the OCR engine on one onnxruntime thread (ops.ocr.set_threads): the
    readings must be those of the default engine, boxes and confidences included."""
    from packshot.ops import ocr
    from packshot.samples import make_product

    label = make_product("box", seed=7, size=(384, 384)).image
    before = ocr._THREADS[0]
    try:
        ocr.set_threads(0)
        default = ocr.read_text(label, None, ocr.OcrConfig(max_side=640, min_side=400))
        ocr.set_threads(1)
        assert ocr._ENGINE is None  # an engine made with another count is not reused
        one = ocr.read_text(label, None, ocr.OcrConfig(max_side=640, min_side=400))
    finally:
        ocr.set_threads(before)
    assert default and one == default
