"""Content Credentials, continued: feeds (alt text, sidecar links), motion clips (MP4 embedded,
WebM sidecar), catalogue exports signed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

c2pa = pytest.importorskip("c2pa")
pytest.importorskip("cryptography")

from packshot.cli import app  # noqa: E402
from packshot.credentials import init_dev_credentials  # noqa: E402
from packshot.credentials.verify import verify_file  # noqa: E402
from packshot.export.deliver import export_frames  # noqa: E402
from packshot.export.feeds import FeedImage, build_feed  # noqa: E402
from packshot.export.profiles import Profile  # noqa: E402

from test_credentials import contain_fixer, write_frame  # noqa: E402

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
BASE = "https://cdn.example.com/p"


@pytest.fixture(scope="module")
def creds(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("creds")
    init_dev_credentials(folder)
    return folder


# ---------------------------------------------------------------------------------------------
# feeds
# ---------------------------------------------------------------------------------------------
def _rows(feed):
    return list(csv.reader(io.StringIO(feed.text), delimiter="\t" if feed.kind == "google" else ","))


def test_feed_without_alt_text_or_sidecars_keeps_its_columns():
    feed = build_feed("google", [FeedImage("A", "google-shopping", "a.jpg")], BASE)
    assert _rows(feed)[0] == ["id", "image_link", "additional_image_link"]


def test_feed_alt_text_and_sidecar_links_unit():
    images = [FeedImage("A", "google-shopping", "a 1.jpg", "Glue bottle\ton a\nmarble counter", "a 1.c2pa"),
              FeedImage("A", "google-shopping", "a2.jpg", "second", None),
              FeedImage("A", "google-shopping", "a3.jpg", "third", "a3.c2pa"),
              FeedImage("B", "google-shopping", "b.jpg", "", None)]
    for kind in ("google", "meta"):
        rows = _rows(build_feed(kind, images, BASE))
        assert rows[0] == ["id", "image_link", "additional_image_link", "image_alt_text", "c2pa_manifest_link",
                           "additional_c2pa_manifest_link"]
        assert rows[1] == ["A", f"{BASE}/a%201.jpg", f"{BASE}/a2.jpg,{BASE}/a3.jpg", "Glue bottle on a marble counter",
                           f"{BASE}/a%201.c2pa", f",{BASE}/a3.c2pa"]
        assert rows[2] == ["B", f"{BASE}/b.jpg", "", "", "", ""]


def test_exported_feed_carries_alt_text_and_sidecar_url(tmp_path, creds):
    sidecar = write_frame(tmp_path / "in")
    strip = Profile(name="google-shopping", size=(100, 100), formats=("JPEG",), keeps_metadata=False)
    keep = Profile(name="meta-square", size=(100, 100), formats=("JPEG",))
    out = tmp_path / "out"
    result = export_frames([sidecar], [strip, keep], out, fixer=contain_fixer, credentials=creds,
                           feed=["google", "meta"], public_url=BASE)
    assert result.ok, result.failures
    by = {f.profile: f for f in result.files}
    assert by["google-shopping"].alt_text and by["google-shopping"].c2pa_sidecar
    g = list(csv.DictReader((out / "feeds/google_merchant_images.tsv").read_text().splitlines(), delimiter="\t"))
    assert g[0]["image_alt_text"] == by["google-shopping"].alt_text
    assert g[0]["c2pa_manifest_link"] == f"{BASE}/{by['google-shopping'].c2pa_sidecar}"
    assert (out / by["google-shopping"].c2pa_sidecar).is_file()
    m = list(csv.DictReader((out / "feeds/meta_catalogue_images.csv").read_text().splitlines()))
    # meta-square keeps metadata: alt text, but no sidecar columns
    assert m[0]["image_alt_text"] == by["meta-square"].alt_text and "c2pa_manifest_link" not in m[0]
