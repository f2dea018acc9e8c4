"""Shared fixtures: the real photos in ../shared/photos and generated samples."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_PHOTOS = Path(os.environ.get("PACKSHOT_SHARED_PHOTOS", REPO.parent / "shared" / "photos"))


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """``../shared/photos``: real product photos (images/<id>.jpg, masks/<id>.png, SOURCES.csv).

    They are part of the test data of this project (never copied into the repo): a missing
    folder is an error of the checkout, not a reason to skip.
    """
    if not (SHARED_PHOTOS / "images").is_dir():
        raise RuntimeError(f"{SHARED_PHOTOS}/images is missing: the real photos live in ../shared/photos")
    return SHARED_PHOTOS


@pytest.fixture(scope="session")
def photo_notes(photos_dir) -> dict[str, dict]:
    """SOURCES.csv rows by photo id."""
    with open(photos_dir / "SOURCES.csv", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def photo(photos_dir: Path, photo_id: str) -> Path:
    return photos_dir / "images" / f"{photo_id}.jpg"
