"""Reading qa inputs from a frame folder: master lookup, reference warp, sidecar errors (no OCR)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from packshot.errors import InputError
from packshot.imaging import save_gray, save_image
from packshot.qa.frames import find_master, find_sidecars, load_frame_inputs, warp_premultiplied


def test_find_master_by_name_and_stem(tmp_path):
    art = np.full((16, 16, 3), 0.5, np.float32)
    save_image(tmp_path / "sku-1_master.png", art)
    save_image(tmp_path / "sku-2.jpg", art)
    save_image(tmp_path / "sku-3.png", art)
    assert find_master(tmp_path, "sku-1").name == "sku-1_master.png"
    assert find_master(tmp_path, "sku-2").name == "sku-2.jpg"
    assert find_master(tmp_path, "sku-3").name == "sku-3.png"
    assert find_master(tmp_path, "sku-4") is None


def test_warp_premultiplied_has_no_dark_fringe():
    rgb = np.zeros((40, 40, 3), np.float32)
    rgb[:] = (0.9, 0.2, 0.1)
    alpha = np.zeros((40, 40), np.float32)
    alpha[10:30, 10:30] = 1.0
    m = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])  # half-pixel shift: every edge pixel is mixed
    out_rgb, out_a = warp_premultiplied(rgb, alpha, m, (40, 40))
    edge = (out_a > 0.05) & (out_a < 0.95)
    assert edge.any()
    np.testing.assert_allclose(out_rgb[edge], np.broadcast_to([0.9, 0.2, 0.1], out_rgb[edge].shape), atol=1e-3)


def _write(tmp_path, matrix=True, cutout=True):
    frame = np.full((64, 64, 3), 0.3, np.float32)
    alpha = np.zeros((64, 64), np.float32)
    alpha[20:44, 24:40] = 1.0
    folder = tmp_path / "f" / "sku" / "studio"
    save_image(folder / "v0.png", frame)
    save_gray(folder / "v0_alpha.png", alpha)
    cut_alpha = np.zeros((32, 32), np.float32)
    cut_alpha[4:28, 8:24] = 1.0
    if cutout:
        save_image(tmp_path / "cut.png", np.full((32, 32, 3), 0.7, np.float32), alpha=cut_alpha)
    side = {"sku": "sku", "scene": "studio", "variant": "v0", "size": [64, 64], "product_box": [24, 20, 40, 44],
            "product_alpha": "v0_alpha.png", "cutout": "../../../cut.png",
            "placement": {"matrix": [[1, 0, 16], [0, 1, 16]] if matrix else None, "center": [32, 32],
                          "scale": 1.0, "rotation": 0.0}}
    (folder / "v0.json").write_text(json.dumps(side))
    (folder / "v0_qa.json").write_text(json.dumps({"verdict": "pass"}))  # qa's own output is not a frame
    return folder / "v0.json"


@pytest.mark.parametrize("matrix", [True, False], ids=["matrix", "placement-only"])
def test_load_frame_inputs_places_the_cutout(tmp_path, matrix):
    sidecar = _write(tmp_path, matrix=matrix)
    assert find_sidecars(tmp_path / "f") == [sidecar]
    inputs = load_frame_inputs(sidecar)
    ys, xs = np.nonzero(inputs.reference_alpha > 0.5)
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (24, 20, 39, 43)
    assert inputs.sku == "sku" and inputs.frame_rgb.shape == (64, 64, 3)


def test_missing_cutout_names_the_file(tmp_path):
    sidecar = _write(tmp_path, cutout=False)
    with pytest.raises(InputError, match="cut.png"):
        load_frame_inputs(sidecar)
