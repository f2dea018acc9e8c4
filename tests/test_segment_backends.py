"""Segment backends by path (onnx:PATH, sam:CHECKPOINT) with tiny models built in the test, and
cut-out file I/O."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from packshot.errors import ImageLoadError, InputError
from packshot.samples import make_product
from packshot.segment import SegmentConfig, segment
from packshot.segment.io import load_cutout, save_cutout
from packshot.segment.u2netp import u2netp_path
from packshot.types import Prompt, alpha_bbox


def iou(pred, truth):
    p, t = pred > 0.5, truth > 0.5
    return float((p & t).sum()) / max(float((p | t).sum()), 1.0)


@pytest.fixture(scope="module")
def sample():
    return make_product("jar", seed=3, size=(192, 160), backdrop="grey", noise=0.01)


# ------------------------------------------------------------------------------ onnx:PATH
def test_onnx_path_with_the_u2netp_file_matches_the_u2netp_backend(sample):
    by_path = segment(sample.image, backend=f"onnx:{u2netp_path()}")
    builtin = segment(sample.image, backend="u2netp")
    # same weights, same normalisation but for rembg's divide-by-maximum: nearly the same map
    assert iou(by_path.alpha, builtin.alpha) > 0.97
    assert iou(by_path.alpha, sample.mask) > 0.9
    params = by_path.provenance["params"]["backend_params"]
    assert params["input_size"] == 320 and len(params["model_sha256"]) == 64


def _tiny_onnx(path, size=64, logits=True):
    torch = pytest.importorskip("torch")

    class Tiny(torch.nn.Module):
        """A fixed 'saliency' net: how far each pixel is from the image's mean colour."""

        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 1, 3, padding=1)

        def forward(self, x):
            d = (x - x.mean(dim=(2, 3), keepdim=True)).abs().sum(dim=1, keepdim=True)
            y = self.conv(x) * 0.0 + 8.0 * (d - 1.0)
            return y if logits else torch.sigmoid(y)

    torch.manual_seed(0)
    model = Tiny().eval()
    torch.onnx.export(model, torch.zeros(1, 3, size, size), str(path), input_names=["input"],
                      output_names=["mask"], opset_version=17, dynamo=False)
    return path


def test_onnx_path_with_a_tiny_model_built_here(tmp_path):
    model = _tiny_onnx(tmp_path / "tiny.onnx", size=64, logits=True)
    # a red square on white: the tiny net marks pixels far from the mean colour
    img = np.full((120, 100, 3), 0.9, np.float32)
    img[30:90, 25:75] = (0.6, 0.02, 0.02)
    truth = np.zeros((120, 100), np.float32)
    truth[30:90, 25:75] = 1
    cut = segment(img, SegmentConfig(onnx_mean=(0.0, 0.0, 0.0), onnx_std=(1.0, 1.0, 1.0)), backend=f"onnx:{model}")
    assert cut.alpha.shape == (120, 100)
    assert iou(cut.alpha, truth) > 0.9
    params = cut.provenance["params"]["backend_params"]
    assert params["input_size"] == 64  # read from the model's static input shape
    assert params["model"] == "tiny.onnx"
    # a box prompt crops first: nothing outside the box
    cut = segment(img, SegmentConfig(onnx_mean=(0.0, 0.0, 0.0), onnx_std=(1.0, 1.0, 1.0)), backend=f"onnx:{model}",
                  prompt=Prompt(box=(20, 20, 60, 100)))
    assert cut.alpha[:, 61:].max() == 0


def test_onnx_bad_paths(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        segment(np.zeros((32, 32, 3), np.float32), backend=f"onnx:{tmp_path / 'none.onnx'}")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="ONNX"):
        segment(np.zeros((32, 32, 3), np.float32), backend=f"onnx:{junk}")


# ------------------------------------------------------------------------------ sam:CHECKPOINT
def _tiny_sam_checkpoint(path):
    torch = pytest.importorskip("torch")
    from packshot.segment.sam import SamArchitecture, build_sam

    torch.manual_seed(0)
    arch = SamArchitecture(img_size=64, embed_dim=32, depth=2, num_heads=1, global_attn_indexes=(1,), window_size=2,
                           prompt_embed_dim=32, decoder_depth=1, decoder_mlp_dim=64, decoder_heads=8, mask_in_chans=4)
    model = build_sam(arch)
    torch.save(model.state_dict(), str(path))
    return arch


def test_sam_with_a_tiny_random_checkpoint(tmp_path, sample):
    from packshot.segment.sam import _load

    arch = _tiny_sam_checkpoint(tmp_path / "tiny_sam.pth")
    ckpt = tmp_path / "tiny_sam.pth"
    box = alpha_bbox(sample.mask)
    cut = segment(sample.image, backend=f"sam:{ckpt}", prompt=Prompt(box=box, points=((96.0, 80.0, 1),)))
    assert cut.alpha.shape == sample.mask.shape and cut.alpha.dtype == np.float32
    assert 0.0 <= cut.confidence <= 1.0
    params = cut.provenance["params"]["backend_params"]
    assert params["img_size"] == 64 and params["embed_dim"] == 32 and params["depth"] == 2
    # the architecture was read back from the checkpoint's shapes
    model, read_arch, _ = _load(str(ckpt), ckpt.stat().st_mtime)
    assert read_arch == arch
    # the weights are the saved ones, deterministic across calls
    again = segment(sample.image, backend=f"sam:{ckpt}", prompt=Prompt(box=box, points=((96.0, 80.0, 1),)))
    assert np.array_equal(cut.alpha, again.alpha)
    # no prompt: the whole photo is the box
    assert segment(sample.image, backend=f"sam:{ckpt}").alpha.shape == sample.mask.shape
    # torchvision was never needed, and the real package name was left alone
    assert "_packshot_sam_modeling" in sys.modules


def test_sam_bad_checkpoints(tmp_path):
    img = np.zeros((32, 32, 3), np.float32)
    with pytest.raises(InputError, match="does not exist"):
        segment(img, backend=f"sam:{tmp_path / 'none.pth'}")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"garbage")
    with pytest.raises(InputError, match="torch checkpoint"):
        segment(img, backend=f"sam:{junk}")
    torch = pytest.importorskip("torch")
    torch.save({"some.weight": torch.zeros(2)}, str(tmp_path / "other.pth"))
    with pytest.raises(InputError, match="Segment Anything"):
        segment(img, backend=f"sam:{tmp_path / 'other.pth'}")


# ------------------------------------------------------------------------------ cut-out files
def test_save_and_load_cutout_round_trip(tmp_path, sample):
    cut = segment(sample.image)
    path = save_cutout(tmp_path / "cut.png", cut)
    back = load_cutout(path)
    assert back.alpha.shape == cut.alpha.shape
    assert np.abs(back.alpha - cut.alpha).max() <= 0.5 / 255 + 1e-6
    assert back.bbox == cut.bbox
    assert back.flags == cut.flags and back.confidence == pytest.approx(cut.confidence)
    assert back.background == pytest.approx(cut.background)
    assert back.provenance["backend"] == "auto"
    inner = cut.alpha > 0.99
    assert np.abs(back.rgb[inner] - cut.rgb[inner]).mean() < 0.01  # 8-bit sRGB quantisation only
    # same cut-out, same bytes
    save_cutout(tmp_path / "again.png", cut)
    assert (tmp_path / "again.png").read_bytes() == path.read_bytes()
    with pytest.raises(InputError, match="png"):
        save_cutout(tmp_path / "cut.jpg", cut)


def test_load_cutout_refuses_files_without_alpha(tmp_path):
    from packshot.imaging import save_image

    save_image(tmp_path / "flat.png", np.full((20, 20, 3), 0.5, np.float32))
    with pytest.raises(ImageLoadError, match="alpha"):
        load_cutout(tmp_path / "flat.png")
    with pytest.raises(ImageLoadError, match="does not exist"):
        load_cutout(tmp_path / "missing.png")
