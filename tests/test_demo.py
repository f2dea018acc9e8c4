"""``make demo`` end to end, at a small size."""

from __future__ import annotations

from packshot.demo import main


def test_demo_writes_a_contact_sheet_of_every_frame(tmp_path):
    assert main(["--out", str(tmp_path), "--size", "320"]) == 0
    index = (tmp_path / "index.html").read_text()
    for kind in ("bottle", "box", "jar", "can", "pouch"):
        assert kind in index
    frames = [p for p in (tmp_path / "frames").rglob("v*.png") if not p.stem.endswith("_alpha") and "_qa" not in p.stem]
    assert len(frames) == 5 * 3 * 2
    for p in frames:
        assert p.relative_to(tmp_path).as_posix() in index
    # the hero frames were exported for marketplaces and each delivered file passed its check
    assert "marketplace export" in index
    exported = sorted((tmp_path / "export").rglob("*.jpg"))
    assert len(exported) == 5 * 2
    assert "fail:" not in index
