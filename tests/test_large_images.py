"""Large photos and frames (issue 8, item 14): the working-resolution path gives the normal path's
result, within stated tolerances, on a moderate image where both can run.

The working path is forced on a moderate photo by lowering ``imaging.WORKING_PIXELS``; the
benchmark (benchmarks/memory.py) measures the memory on real sizes.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

import packshot.imaging as imaging
from packshot.condition import parse_brief
from packshot.imaging import block_mean_linear, load_image, load_image_working, working_factor
from packshot.pipeline import RunConfig, process_photo
from packshot.samples import make_product, write_sample

BRIEF = {"defaults": {"sizes": ["384x384"], "variants": 1, "seed": 3},
         "scenes": [{"name": "hero", "preset": "studio-white", "floor": 0.3}]}


# ----------------------------------------------------------------------------- loading
def test_working_factor_is_the_smallest_integer_that_fits():
    assert working_factor(4000, 3000, 16_000_000) == 1
    assert working_factor(11547, 8660, 16_000_000) == 3  # 3849 x 2886 = 11.1 MP
    assert working_factor(8000, 8000, 16_000_000) == 2
    assert working_factor(8001, 8001, 16_000_000) == 2  # 4000 x 4000 (the last row and column drop out)
    assert working_factor(8002, 8002, 16_000_000) == 3  # 4001 x 4001 is over
    with pytest.raises(ValueError):
        working_factor(10, 10, 0)


def test_block_mean_is_the_linear_light_mean_of_each_block():
    rng = np.random.default_rng(1)
    rgb8 = rng.integers(0, 256, (70, 53, 3), dtype=np.uint8)
    got = block_mean_linear(rgb8, 3, band_rows=4)  # bands smaller than the image
    lin = imaging.srgb8_to_linear(rgb8)[:69, :51].astype(np.float64)
    want = lin.reshape(23, 3, 17, 3, 3).mean(axis=(1, 3))
    assert got.shape == (23, 17, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-6)
    # the same as OpenCV's area filter on the full-size float image (what resize_linear uses)
    area = cv2.resize(imaging.srgb8_to_linear(rgb8)[:69, :51], (17, 23), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(got, area, atol=1e-5)
    alpha8 = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    np.testing.assert_allclose(block_mean_linear(alpha8, 2, srgb=False),
                               (alpha8 / 255.0).reshape(4, 2, 4, 2).mean(axis=(1, 3)), atol=1e-6)


def test_small_photo_loads_exactly_as_load_image(tmp_path):
    s = make_product("box", seed=2, size=(240, 200))
    path = write_sample(s, tmp_path, name="p", fmt="jpg")["photo"]
    work = load_image_working(path)
    ref = load_image(path)
    assert work.factor == 1 and work.full_rgb8 is None
    assert np.array_equal(work.image.rgb, ref.rgb) and work.image.sha256 == ref.sha256
    assert work.full_size == ref.size


@pytest.mark.parametrize("orientation", [1, 6])
def test_large_photo_is_reduced_in_linear_light_and_keeps_its_full_pixels(tmp_path, orientation):
    s = make_product("bottle", seed=4, size=(301, 245), noise=0.01)
    img = Image.fromarray(imaging.linear_to_srgb8(s.image, dither=False))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "p.jpg"
    img.save(path, quality=95, exif=exif.tobytes())
    ref = load_image(path)  # upright, float
    work = load_image_working(path, working_pixels=20_000)
    k = work.factor
    assert k == working_factor(*ref.size, 20_000) and k > 1
    assert work.full_size == ref.size
    assert work.image.sha256 == ref.sha256  # frames key on the file's hash, whatever the working size
    # full-resolution pixels: the decoded 8-bit photo, upright
    assert np.array_equal(imaging.srgb8_to_linear(work.full_rgb8), ref.rgb)
    w, h = ref.size
    want = ref.rgb[:h // k * k, :w // k * k].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(work.image.rgb, want, atol=1e-6)
    assert any("working resolution" in n for n in work.image.notes)


# ----------------------------------------------------------------------------- the whole line
@pytest.fixture(scope="module")
def both_runs(tmp_path_factory):
    """One moderate photo through process_photo twice: at its own size, and at 1/2 (forced)."""
    folder = tmp_path_factory.mktemp("large")
    s = make_product("bottle", seed=3, size=(720, 540), noise=0.01)
    photo = write_sample(s, folder, name="prod", fmt="jpg")["photo"]
    brief = parse_brief(BRIEF, folder)
    normal = process_photo(photo, brief, folder / "normal", config=RunConfig(qa=True))
    mp = pytest.MonkeyPatch()
    mp.setattr(imaging, "WORKING_PIXELS", 100_000)  # 720 x 540 -> factor 2 (360 x 270)
    try:
        work = process_photo(photo, brief, folder / "work", config=RunConfig(qa=True))
    finally:
        mp.undo()
    return {"normal": normal, "work": work, "sample": s}


def _rgba(path):
    return np.asarray(Image.open(path).convert("RGBA")).astype(np.float64) / 255.0


def test_working_cutout_is_written_at_the_photo_size_and_matches_the_normal_one(both_runs):
    """Tolerance: alpha IoU >= 0.97 and mean |d alpha| <= 0.02 (the working alpha is 1/2 size,
    upsampled); inside the product (alpha = 1 in both) colour mean |d| <= 0.5 / 255 (it is the
    photo's own pixels)."""
    a = _rgba(both_runs["normal"].cutout_path)
    b = _rgba(both_runs["work"].cutout_path)
    assert a.shape == b.shape == (540, 720, 4)
    ma, mb = a[..., 3] > 0.5, b[..., 3] > 0.5
    assert (ma & mb).sum() / (ma | mb).sum() >= 0.97
    assert np.abs(a[..., 3] - b[..., 3]).mean() <= 0.02
    inside = (a[..., 3] > 0.999) & (b[..., 3] > 0.999)
    assert np.abs(a[..., :3] - b[..., :3])[inside].mean() <= 0.5 / 255
    meta = json.loads(Image.open(both_runs["work"].cutout_path).text["packshot:cutout"])
    assert meta["provenance"]["working_resolution"]["factor"] == 2
    # the box in the metadata is in photo pixels
    x0, y0, x1, y1 = meta["bbox"]
    ys, xs = np.nonzero(mb)
    assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_working_frame_matches_the_normal_frame(both_runs):
    """Tolerance: mean |d| <= 2 / 255 over the frame, 99th percentile <= 24 / 255 (edges of the
    product move by under a pixel); product box within 2 px."""
    fa, fb = both_runs["normal"].frames[0], both_runs["work"].frames[0]
    a = _rgba(fa)[..., :3]
    b = _rgba(fb)[..., :3]
    d = np.abs(a - b)
    assert d.mean() <= 2 / 255
    assert np.percentile(d, 99) <= 24 / 255
    sa = json.loads(fa.with_suffix(".json").read_text())
    sb = json.loads(fb.with_suffix(".json").read_text())
    assert np.abs(np.subtract(sa["product_box"], sb["product_box"])).max() <= 2


def test_working_frame_records_placement_in_photo_pixels(both_runs):
    """The sidecar's matrix maps the photo-size cut-out into the frame: the cut-out's box lands on
    the frame's product box (within 2 px), as it does on the normal path; scale within 1 %."""
    for run in ("normal", "work"):
        r = both_runs[run]
        sc = json.loads(r.frames[0].with_suffix(".json").read_text())
        m = np.array(sc["placement"]["matrix"])
        alpha = _rgba(r.cutout_path)[..., 3]
        ys, xs = np.nonzero(alpha > 0.5)
        corners = m @ np.array([[xs.min(), xs.max() + 1], [ys.min(), ys.max() + 1], [1, 1]])
        box = sc["product_box"]
        assert abs(corners[0, 0] - box[0]) <= 2 and abs(corners[0, 1] - box[2]) <= 2, run
        assert abs(corners[1, 0] - box[1]) <= 2 and abs(corners[1, 1] - box[3]) <= 2, run
    sa = json.loads(both_runs["normal"].frames[0].with_suffix(".json").read_text())
    sb = json.loads(both_runs["work"].frames[0].with_suffix(".json").read_text())
    assert sb["placement"]["scale"] == pytest.approx(sa["placement"]["scale"], rel=0.01)


def test_working_frame_passes_the_same_qa(both_runs):
    """Same verdict; silhouette IoU and SSIM within 0.01, mean deltaE within 0.5."""
    na, nb = both_runs["normal"], both_runs["work"]
    assert list(na.verdicts.values()) == list(nb.verdicts.values()) == ["pass"]
    qa = [json.loads(r.frames[0].with_name("v0_qa.json").read_text()) for r in (na, nb)]
    checks = [{c["name"]: c["value"] for c in q["checks"]} for q in qa]
    assert abs(checks[0]["silhouette.iou"] - checks[1]["silhouette.iou"]) <= 0.01
    assert abs(checks[0]["colour.ssim"] - checks[1]["colour.ssim"]) <= 0.01
    assert abs(checks[0]["colour.mean_de"] - checks[1]["colour.mean_de"]) <= 0.5


def test_qa_of_a_large_cutout_matches_the_full_size_reference(both_runs, monkeypatch):
    """qa reduces a large cut-out (premultiplied, on the working grid) instead of loading it in
    full: the reference it builds matches the full-size one. Tolerance: alpha IoU >= 0.98, alpha
    centroid within 0.05 px (no shift), colour mean |d| <= 2.5 / 255 on a textured label (measured
    1.4: a 2 x 2 block mean then a 1:1 warp filters differently from one area-shrinking warp)."""
    from packshot.qa.frames import load_frame_inputs

    sidecar = both_runs["work"].frames[0].with_suffix(".json")
    full = load_frame_inputs(sidecar)
    monkeypatch.setattr(imaging, "WORKING_PIXELS", 100_000)
    reduced = load_frame_inputs(sidecar)
    assert reduced.reference_rgb.shape == full.reference_rgb.shape
    ma, mb = full.reference_alpha > 0.5, reduced.reference_alpha > 0.5
    assert (ma & mb).sum() / (ma | mb).sum() >= 0.98
    yy, xx = np.mgrid[:ma.shape[0], :ma.shape[1]]
    for ra in (full.reference_alpha, reduced.reference_alpha):
        assert ra.sum() > 100
    ca = [((ra * xx).sum() / ra.sum(), (ra * yy).sum() / ra.sum()) for ra in (full.reference_alpha, reduced.reference_alpha)]
    assert np.abs(np.subtract(ca[0], ca[1])).max() <= 0.05
    w = np.minimum(full.reference_alpha, reduced.reference_alpha)[..., None]
    err = float((np.abs(full.reference_rgb - reduced.reference_rgb) * w).sum() / max(float(w.sum()) * 3, 1.0))
    assert err <= 2.5 / 255, err * 255


def test_frame_at_photo_scale_maps_photo_pixels_where_working_pixels_went():
    from packshot.render import frame_at_photo_scale
    from packshot.types import Frame, Light, Placement, SceneSpec

    spec = SceneSpec(sku="s", scene="x", variant=0, canvas=(100, 100), placement=Placement((50, 50), 0.5),
                     light=Light(), preset="p", backdrop={}, floor_y=90.0, floor_gloss=0.0)
    m = np.array([[0.5, 0.1, 3.0], [-0.1, 0.5, 7.0]])
    frame = Frame(rgb=np.zeros((100, 100, 3), np.float32), product_alpha=np.zeros((100, 100), np.float32),
                  product_box=(0, 0, 1, 1), spec=spec, provenance={"render": {"matrix": m.tolist()}})
    assert frame_at_photo_scale(frame, 1) is frame
    out = frame_at_photo_scale(frame, 3)
    mf = np.array(out.provenance["render"]["matrix"])
    # photo pixel x sits at working pixel (x - 1) / 3 (centres of 3 x 3 blocks)
    for x, y in [(0.0, 0.0), (10.0, 4.0), (301.0, 77.0)]:
        work = np.array([(x - 1) / 3, (y - 1) / 3, 1.0])
        np.testing.assert_allclose(mf @ [x, y, 1.0], m @ work, atol=1e-9)
    assert out.spec.placement.scale == pytest.approx(0.5 / 3)
    assert out.rgb is frame.rgb and frame.provenance["render"]["matrix"] == m.tolist()  # input untouched
