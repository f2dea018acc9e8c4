"""The segment stage: quality on generated products with exact masks, real masked photos, holes,
decontaminated edges, empty photos, prompts, determinism and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.errors import InputError
from packshot.imaging import load_image, load_mask, resize_linear, srgb_to_linear
from packshot.samples import make_product
from packshot.segment import BACKENDS, SegmentConfig, check_prompt, cutout_from_mask, segment
from packshot.types import Cutout, Prompt, alpha_bbox


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = pred > 0.5, truth > 0.5
    return float((p & t).sum()) / max(float((p | t).sum()), 1.0)


# ------------------------------------------------------------------------------ quality, generated
@pytest.mark.parametrize("kind", ["bottle", "box", "jar", "can", "pouch"])
def test_auto_cuts_generated_products_on_white(kind):
    s = make_product(kind, seed=3, size=(320, 320), backdrop="white", noise=0.01)
    cut = segment(s.image)
    assert isinstance(cut, Cutout)
    assert cut.alpha.shape == (320, 320) and cut.alpha.dtype == np.float32
    assert iou(cut.alpha, s.mask) >= 0.95
    assert "studio-backdrop" in cut.flags
    assert cut.confidence > 0.7
    # the cut-out's box is the product's box, within a couple of pixels
    assert np.abs(np.subtract(cut.bbox, alpha_bbox(s.mask))).max() <= 3


@pytest.mark.parametrize("kind,backdrop", [("bottle", "grey"), ("can", "color")])
def test_auto_cuts_generated_products_on_grey_and_colour(kind, backdrop):
    s = make_product(kind, seed=4, size=(320, 320), backdrop=backdrop, noise=0.01)
    cut = segment(s.image)
    assert iou(cut.alpha, s.mask) >= 0.97, kind
    assert cut.background is not None
    # the estimated backdrop colour is the generator's (up to its gradient and shadow)
    assert np.abs(np.subtract(cut.background, s.background)).max() < 0.08


def test_threshold_fails_a_bad_method():
    """The IoU threshold above is not one any blob passes: the product's box, a centred
    ellipse and a plain brightness threshold all score below it."""
    s = make_product("bottle", seed=3, size=(320, 320), backdrop="white", noise=0.01)
    x0, y0, x1, y1 = alpha_bbox(s.mask)
    box = np.zeros_like(s.mask)
    box[y0:y1, x0:x1] = 1
    assert iou(box, s.mask) < 0.95
    yy, xx = np.mgrid[0:320, 0:320]
    ellipse = (((xx - (x0 + x1) / 2) / ((x1 - x0) / 2)) ** 2 + ((yy - (y0 + y1) / 2) / ((y1 - y0) / 2)) ** 2) <= 1
    assert iou(ellipse.astype(np.float32), s.mask) < 0.95
    dark = (s.image.mean(axis=2) < 0.8).astype(np.float32)  # "not white" keying takes the shadow too
    assert iou(dark, s.mask) < 0.95


def test_u2netp_baseline_runs_and_auto_is_at_least_as_good():
    s = make_product("jar", seed=8, size=(320, 320), backdrop="grey", noise=0.01)
    base = segment(s.image, backend="u2netp")
    auto = segment(s.image)
    assert base.provenance["backend"] == "u2netp"
    assert iou(base.alpha, s.mask) > 0.8
    assert iou(auto.alpha, s.mask) >= iou(base.alpha, s.mask) - 0.005


def test_holes_stay_holes():
    """The backdrop seen through a ring is background."""
    h = w = 256
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(xx - 128, yy - 128)
    ring = np.clip(np.minimum(90 - r, r - 45) + 0.5, 0, 1).astype(np.float32)  # anti-aliased ring
    colour = srgb_to_linear(np.array([0.85, 0.25, 0.15], np.float32))
    back = srgb_to_linear(np.array([0.96, 0.96, 0.96], np.float32))
    img = (ring[..., None] * colour + (1 - ring[..., None]) * back).astype(np.float32)
    cut = segment(img)
    assert iou(cut.alpha, ring) >= 0.97
    assert cut.alpha[128, 128] < 0.05 and cut.alpha[100:156, 100:156].mean() < 0.05


def test_edges_are_decontaminated():
    """Foreground colour at soft edge pixels is the product's, not a mix with the backdrop."""
    h = w = 200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # a disc with a 4 px soft edge
    alpha = np.clip((70 - np.hypot(xx - 100, yy - 100)) / 4 + 0.5, 0, 1).astype(np.float32)
    red = srgb_to_linear(np.array([0.8, 0.1, 0.1], np.float32))
    white = srgb_to_linear(np.array([0.97, 0.97, 0.97], np.float32))
    img = (alpha[..., None] * red + (1 - alpha[..., None]) * white).astype(np.float32)
    cut = segment(img)
    edge = (alpha > 0.2) & (alpha < 0.8)
    raw_error = np.abs(img[edge] - red).mean()
    fg_error = np.abs(cut.rgb[edge] - red).mean()
    assert raw_error > 0.2  # the photo's edge pixels are pink
    assert fg_error < 0.03  # the cut-out's are red
    # and the solved alpha follows the true soft edge
    assert np.abs(cut.alpha[edge] - alpha[edge]).mean() < 0.12
    # a known alpha (cutout_from_mask) is decontaminated the same way
    known = cutout_from_mask(img, alpha)
    assert np.abs(known.rgb[edge] - red).mean() < 0.03


# ------------------------------------------------------------------------------ real photos
def _downscaled(photos_dir, photo_id, width=640):
    img = load_image(photos_dir / "images" / f"{photo_id}.jpg").rgb
    mask = load_mask(photos_dir / "masks" / f"{photo_id}.png")
    h, w = mask.shape
    size = (width, int(round(h * width / w)))
    return resize_linear(img, size), resize_linear(mask, size)


@pytest.mark.parametrize("photo_id,threshold", [("cg_153_opaque_bottles", 0.90), ("arc17_tote_8items", 0.88)])
def test_real_masked_photos_with_box_prompt(photos_dir, photo_id, threshold):
    img, truth = _downscaled(photos_dir, photo_id)
    cut = segment(img, prompt=Prompt(box=alpha_bbox(truth)))
    assert iou(cut.alpha, truth) >= threshold
    # nothing outside the box
    x0, y0, x1, y1 = alpha_bbox(truth)
    outside = np.ones_like(truth, bool)
    outside[max(0, y0 - 1):y1 + 1, max(0, x0 - 1):x1 + 1] = False
    assert cut.alpha[outside].max() == 0


def test_desk_photo_is_not_called_a_studio_packshot(photos_dir):
    img = load_image(photos_dir / "images" / "apc15_cheezit_box.jpg").rgb
    small = resize_linear(img, (480, 360))
    cut = segment(small)
    assert "not-studio-backdrop" in cut.flags
    assert cut.confidence <= 0.6
    white = resize_linear(load_image(photos_dir / "images" / "abo_vitamin_bottle.jpg").rgb, (384, 384))
    cut = segment(white)
    assert "studio-backdrop" in cut.flags and cut.confidence > 0.7


# ------------------------------------------------------------------------------ empty photos
@pytest.mark.parametrize("backend,value", [("auto", 1.0), ("auto", 0.5), ("u2netp", 0.93)])
def test_blank_photo_gives_an_empty_flagged_cutout(backend, value):
    img = np.full((128, 160, 3), value, np.float32)
    cut = segment(img, backend=backend)
    assert cut.is_empty and cut.bbox is None
    assert cut.confidence == 0.0
    assert "empty" in cut.flags
    assert cut.alpha.max() == 0
    assert cut.alpha.shape == (128, 160)


def test_noisy_blank_backdrop_is_empty_too():
    rng = np.random.default_rng(1)
    img = srgb_to_linear(np.clip(0.9 + rng.normal(0, 0.015, (160, 160, 3)), 0, 1)).astype(np.float32)
    assert segment(img).is_empty


# ------------------------------------------------------------------------------ prompts
def _two_products():
    left = make_product("can", seed=2, size=(256, 256), backdrop="white", noise=0.005)
    right = make_product("bottle", seed=6, size=(256, 256), backdrop="white", noise=0.005)
    img = np.concatenate([left.image, right.image], axis=1)
    return img, np.concatenate([left.mask, np.zeros_like(right.mask)], axis=1), \
        np.concatenate([np.zeros_like(left.mask), right.mask], axis=1)


@pytest.mark.parametrize("backend", ["auto", "u2netp"])
def test_box_prompt_picks_the_product_in_the_box(backend):
    img, left, right = _two_products()
    cut = segment(img, backend=backend, prompt=Prompt(box=alpha_bbox(right)))
    assert iou(cut.alpha, right) >= 0.95
    assert cut.alpha[left > 0.5].max() == 0
    assert cut.provenance["params"]["prompt"]["box"] == list(alpha_bbox(right))


def test_point_prompts_keep_and_drop_parts():
    img, left, right = _two_products()
    both = segment(img)
    assert iou(both.alpha, np.maximum(left, right)) >= 0.95
    lx0, ly0, lx1, ly1 = alpha_bbox(left)
    rx0, ry0, rx1, ry1 = alpha_bbox(right)
    keep_left = segment(img, prompt=Prompt(points=(((lx0 + lx1) / 2, (ly0 + ly1) / 2, 1),)))
    assert iou(keep_left.alpha, left) >= 0.95
    # a prompt-blind backend is filtered by the points too
    drop_right = segment(img, backend="u2netp", prompt=Prompt(points=(((rx0 + rx1) / 2, (ry0 + ry1) / 2, 0),)))
    assert iou(drop_right.alpha, left) >= 0.9
    assert drop_right.alpha[right > 0.5].max() == 0


def test_bad_prompts_are_refused_with_the_argument_named():
    with pytest.raises(InputError, match="box"):
        check_prompt(Prompt(box=(300, 300, 400, 400)), (200, 100))
    with pytest.raises(InputError, match="box"):
        check_prompt(Prompt(box=(50, 50, 10, 10)), (200, 100))
    with pytest.raises(InputError, match="point"):
        check_prompt(Prompt(points=((10, 10, 2),)), (200, 100))
    with pytest.raises(InputError, match="outside"):
        check_prompt(Prompt(points=((500, 10, 1),)), (200, 100))
    # a box reaching past the frame is clipped, not refused
    assert check_prompt(Prompt(box=(-5, -5, 50, 60)), (200, 100)).box == (0, 0, 50, 60)
    img = np.zeros((64, 64, 3), np.float32)
    with pytest.raises(InputError):
        segment(img, prompt=Prompt(box=(100, 100, 120, 120)))


# ------------------------------------------------------------------------------ API contract
def test_registry_and_unknown_backend():
    assert {"auto", "u2netp", "onnx:ARG", "sam:ARG"} <= set(BACKENDS.names())
    img = make_product("can", seed=1, size=(96, 96)).image
    with pytest.raises(ValueError, match="unknown segment backend"):
        segment(img, backend="nope")
    with pytest.raises(ValueError, match="needs an argument"):
        segment(img, backend="onnx")


def test_input_checks_name_the_problem():
    with pytest.raises(InputError, match="H x W x 3"):
        segment(np.zeros((32, 32), np.float32))
    with pytest.raises(InputError, match="float32"):
        segment(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(InputError, match="too small"):
        segment(np.zeros((4, 4, 3), np.float32))


def test_same_input_same_output_and_provenance():
    s = make_product("pouch", seed=2, size=(192, 192), noise=0.01)
    a, b = segment(s.image), segment(s.image)
    assert np.array_equal(a.alpha, b.alpha) and np.array_equal(a.rgb, b.rgb)
    prov = a.provenance
    assert prov["stage"] == "segment" and prov["backend"] == "auto"
    assert len(prov["inputs"]["image"]) == 64
    assert prov["params"]["backend_params"]["mode"] == "studio"
    assert prov["params"]["config"]["work_size"] == SegmentConfig().work_size


def test_loaded_image_input_uses_the_file_hash(tmp_path):
    from packshot.imaging import save_image

    s = make_product("box", seed=2, size=(160, 160))
    save_image(tmp_path / "p.png", s.image)
    loaded = load_image(tmp_path / "p.png")
    cut = segment(loaded)
    assert cut.provenance["inputs"]["image"] == loaded.sha256


def test_cutout_from_mask():
    s = make_product("bottle", seed=1, size=(128, 128))
    cut = cutout_from_mask(s.image, (s.mask * 255).astype(np.uint8))
    assert cut.bbox == alpha_bbox(s.mask) and cut.confidence == 1.0
    assert np.abs(cut.alpha - s.mask).max() <= 1 / 255 + 1e-6
    inner = s.mask >= 0.999
    assert np.allclose(cut.rgb[inner], s.image[inner])
    empty = cutout_from_mask(s.image, np.zeros((128, 128), np.float32))
    assert empty.is_empty and "empty" in empty.flags and empty.confidence == 0.0
    with pytest.raises(InputError, match="alpha"):
        cutout_from_mask(s.image, np.zeros((10, 10), np.float32))
    with pytest.raises(InputError, match="NaN"):
        cutout_from_mask(s.image, np.full((128, 128), np.nan, np.float32))
