"""Risk flags on the real photos in ../shared/photos.

Cut-outs: the human ground-truth masks where they exist (ClearGrasp), the segment stage for the
glass on black (a plain threshold cannot see the dark inside of a clear glass), and a plain
threshold against the white or black backdrop for the rest.
"""

from __future__ import annotations

import numpy as np
import pytest

from packshot.imaging import linear_to_lab, load_image, load_mask, resize_linear
from packshot.types import Cutout, alpha_bbox
from packshot.understand import UnderstandConfig, understand
from packshot.understand.flags import regulated_matches
from packshot.types import TextLine

NO_OCR = UnderstandConfig(ocr=False)


def shrink(rgb: np.ndarray, longest: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = longest / max(h, w)
    return rgb if s >= 1 else resize_linear(rgb, (round(w * s), round(h * s)))


def threshold_cutout(rgb: np.ndarray, backdrop: str) -> Cutout:
    """Product = pixels away from a plain white or black backdrop, cleaned and hole-filled."""
    import cv2
    from scipy import ndimage

    lab = linear_to_lab(rgb)
    corners = np.concatenate([lab[:6, :6].reshape(-1, 3), lab[:6, -6:].reshape(-1, 3), lab[-6:, :6].reshape(-1, 3)])
    d = np.linalg.norm(lab - np.median(corners, axis=0), axis=-1)
    m = (d > (12 if backdrop == "black" else 6)).astype(np.uint8)
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    k = max(3, int(0.01 * max(m.shape))) | 1
    m = ndimage.binary_fill_holes(cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)))
    labels, n = ndimage.label(m)
    if n > 1:
        sizes = ndimage.sum(m, labels, range(1, n + 1))
        m = np.isin(labels, 1 + np.flatnonzero(sizes >= 0.02 * sizes.max()))
    a = m.astype(np.float32)
    return Cutout(rgb=rgb, alpha=a, image=rgb, bbox=alpha_bbox(a), confidence=1.0)


def mask_cutout(rgb: np.ndarray, alpha: np.ndarray) -> Cutout:
    return Cutout(rgb=rgb, alpha=alpha, image=rgb, bbox=alpha_bbox(alpha), confidence=1.0)


def photo(photos_dir, name: str, longest: int = 1024) -> np.ndarray:
    return shrink(load_image(photos_dir / "images" / f"{name}.jpg").rgb, longest)


@pytest.fixture(scope="module")
def segmented(photos_dir):
    """Cut-outs from the segment stage, made once."""
    from packshot.segment import segment

    cache: dict[str, Cutout] = {}

    def get(name: str, longest: int = 1024) -> Cutout:
        if name not in cache:
            cache[name] = segment(photo(photos_dir, name, longest))
        return cache[name]

    return get


@pytest.fixture(scope="module")
def clear_grasp(photos_dir):
    def get(name: str) -> Cutout:
        rgb = photo(photos_dir, name, 1280)
        alpha = load_mask(photos_dir / "masks" / f"{name}.png", size=(rgb.shape[1], rgb.shape[0]))
        return mask_cutout(rgb, alpha)

    return get


# ------------------------------------------------------------------------------------ transparent
@pytest.mark.parametrize("name", ["arc17_wine_glass", "arc17_water_bottle"])
def test_glass_on_black_is_transparent(segmented, name):
    maps = understand(segmented(name), NO_OCR)
    assert maps.has_flag("transparent"), maps.materials
    flag = next(f for f in maps.flags if f.code == "transparent")
    assert "photograph" in flag.recommendation and flag.reason


def test_clear_bottles_transparent_painted_replicas_not(clear_grasp):
    clear = understand(clear_grasp("cg_153_transparent_bottles"), NO_OCR)
    painted = understand(clear_grasp("cg_153_opaque_bottles"), NO_OCR)
    assert clear.has_flag("transparent"), clear.materials.transparency_score
    assert not painted.has_flag("transparent"), painted.materials.transparency_score
    assert painted.materials.transparency_score < 0.2
    # three bottles in the ground-truth mask: more than one product
    assert clear.has_flag("multiple-products") and painted.has_flag("multiple-products")


def test_opaque_products_on_black_are_not_transparent(photos_dir):
    for name in ("arc17_kleenex_box", "arc17_irish_spring"):
        maps = understand(threshold_cutout(photo(photos_dir, name), "black"), NO_OCR)
        assert not maps.has_flag("transparent"), (name, maps.materials.transparency_score)


# ------------------------------------------------------------------------------------ reflective
def test_measuring_spoons_are_reflective(photos_dir):
    maps = understand(threshold_cutout(photo(photos_dir, "arc17_measuring_spoons"), "black"), NO_OCR)
    assert maps.has_flag("reflective"), maps.materials.reflective_score


def test_spark_plug_is_reflective(segmented):
    maps = understand(segmented("apc15_spark_plug"), NO_OCR)
    assert maps.has_flag("reflective"), maps.materials.reflective_score


def test_printed_cartons_are_not_reflective(photos_dir):
    for name in ("gs_tropicana_apple_iconic", "gs_garant_milk_iconic"):
        maps = understand(threshold_cutout(photo(photos_dir, name), "white"), NO_OCR)
        assert not maps.has_flag("reflective"), (name, maps.materials.reflective_score)


# ------------------------------------------------------------------------------------ text
def test_vitamin_bottle_has_regulated_text(photos_dir):
    maps = understand(threshold_cutout(photo(photos_dir, "abo_vitamin_bottle"), "white"))
    assert maps.has_flag("regulated-text"), [t.text for t in maps.text]
    flag = next(f for f in maps.flags if f.code == "regulated-text")
    assert "268 mg" in flag.reason
    assert "human review" in flag.recommendation


def test_regulated_matches_units_and_claims():
    lines = (TextLine("Vitamin E 268 mg", ((0, 0), (1, 0), (1, 1), (0, 1)), 1.0),
             TextLine("NET WT 11.7 OZ (331g)", ((0, 0), (1, 0), (1, 1), (0, 1)), 1.0),
             TextLine("EKOLOGISK MELLANMJOLK 1,5%", ((0, 0), (1, 0), (1, 1), (0, 1)), 1.0))
    found = regulated_matches(lines)
    for expected in ("268 mg", "11.7 OZ", "331g", "1,5%", "vitamin", "ekologisk"):
        assert any(expected.lower() == f.lower() for f in found), (expected, found)
    assert regulated_matches((TextLine("CRAYOLA Sharpener Included!", ((0, 0), (1, 0), (1, 1), (0, 1)), 1.0),)) == []


# ------------------------------------------------------------------------------------ resolution, backdrop
@pytest.mark.parametrize("name", ["gs_oatly_iconic", "gs_tropicana_apple_iconic", "gs_garant_milk_iconic",
                                  "gs_godmorgon_orange_iconic"])
def test_small_grocery_packshots_are_low_resolution(photos_dir, name):
    maps = understand(threshold_cutout(photo(photos_dir, name), "white"), NO_OCR)
    assert maps.has_flag("low-resolution")
    assert not maps.has_flag("cluttered-backdrop")


def test_desk_and_shop_photos_are_cluttered(segmented, photos_dir):
    maps = understand(segmented("gs_tropicana_apple_instore"), NO_OCR)
    assert maps.has_flag("cluttered-backdrop")
    clean = understand(threshold_cutout(photo(photos_dir, "arc17_kleenex_box"), "black"), NO_OCR)
    assert not clean.has_flag("cluttered-backdrop")
