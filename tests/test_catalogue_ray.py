"""The Ray engine end to end on a small catalogue: a local Ray (127.0.0.1, 2 CPUs) started by the
run, actors that keep their models, results gathered into the same job store; the files are the
ones the local engine makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from packshot.catalogue import RunSettings, run_catalogue
from packshot.samples import make_product, write_sample

pytest.importorskip("ray")

BRIEF = """name: tiny
defaults:
  sizes: ["160x160"]
  variants: 2
  seed: 3
scenes:
  - {name: studio, preset: studio-white}
"""


def _files(out: Path) -> dict[str, bytes]:
    skip = {"packshot.db", "packshot.db-wal", "packshot.db-shm", ".packshot.lock", "report.html", "timings.log"}
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name not in skip}


@pytest.mark.slow
def test_ray_engine_matches_the_local_engine(tmp_path):
    rows = ["sku,photo,master"]
    for i, kind in enumerate(("jar",)):
        write_sample(make_product(kind, seed=i, size=(224, 224)), tmp_path / "photos", name=f"p{i}")
        rows.append(f"R-{i},photos/p{i}.png,photos/p{i}_master.png")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "brief.yaml").write_text(BRIEF)
    settings = RunSettings(upscaler=None)
    kwargs = dict(brief=tmp_path / "brief.yaml", profiles=("meta-square",), settings=settings, workers=2,
                  progress=False)
    ray_out = run_catalogue(tmp_path / "m.csv", tmp_path / "ray", engine="ray", ray_cpus=2, **kwargs)
    assert ray_out.exit_code == 0 and ray_out.frames_done == 2
    con = sqlite3.connect(tmp_path / "ray" / "packshot.db")
    statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM units")}
    engine = con.execute("SELECT engine FROM runs").fetchone()[0]
    con.close()
    assert statuses == {"done"} and engine == "ray"
    local = run_catalogue(tmp_path / "m.csv", tmp_path / "local", engine="local", **kwargs)
    assert local.exit_code == 0
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
