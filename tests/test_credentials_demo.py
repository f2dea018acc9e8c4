"""``make demo``'s export step signs with a development CA made in its output folder and says so."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("c2pa")

from packshot.credentials.verify import verify_file  # noqa: E402
from packshot.demo import build_contact_sheet, demo_credentials, export_hero_frames  # noqa: E402
from packshot.imaging import save_gray, save_image  # noqa: E402


def _hero(root, sku="jar-1"):
    w, h = 640, 640
    rgb = np.ones((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    alpha[120:520, 220:420] = 1.0
    rgb[120:520, 220:420] = [0.2, 0.3, 0.6]
    folder = root / "frames" / sku / "hero-white"
    save_image(folder / "v0.png", rgb)
    save_gray(folder / "v0_alpha.png", alpha)
    sidecar = folder / "v0.json"
    sidecar.write_text(json.dumps({
        "sku": sku, "scene": "hero-white", "variant": "v0", "size": [w, h], "product_box": [220, 120, 420, 520],
        "product_alpha": "v0_alpha.png", "cutout": None, "source_kind": "embedded",
        "placement": {"matrix": [[1, 0, 0], [0, 1, 0]], "center": [w / 2, h / 2], "scale": 1.0, "rotation": 0.0},
        "spec": {"prompt": "clean packshot on a seamless white sweep, soft shadow"}, "provenance": {},
    }))
    return sidecar


def test_demo_export_is_signed_and_says_untrusted(tmp_path, monkeypatch):
    import packshot.export.delivery.deliver as deliver

    plain = deliver.default_fixer
    monkeypatch.setattr(deliver, "default_fixer", lambda upscaler=None: plain(None))  # no super-resolution: fast
    rows = export_hero_frames(tmp_path, [_hero(tmp_path)])
    assert len(rows) == 2 and all(r["verdict"] == "pass" for r in rows), rows
    assert all(r["credentials"] == "c2pa valid, untrusted signer" for r in rows)
    assert (tmp_path / "credentials" / "chain.pem").exists()
    for r in rows:
        assert verify_file(tmp_path / r["rel"]).valid
    index = build_contact_sheet(tmp_path, [], rows).read_text()
    assert "UNTRUSTED" in index and "packshot verify" in index
    # a second run reuses the development CA
    chain = (tmp_path / "credentials" / "chain.pem").read_bytes()
    demo_credentials(tmp_path)
    assert (tmp_path / "credentials" / "chain.pem").read_bytes() == chain
