"""Kill-safety soak (issue 8, "Done when"): ``packshot run`` on 20 photos, killed with SIGKILL at ten
random moments and rerun each time, ends byte-identical to an uninterrupted run with no temp file
or lock left; a SIGTERM before them ends its run at once, leaving no temp file or lock.

Small generated photos and a small canvas keep it to about a minute. The kill moments are drawn
from ``PACKSHOT_SOAK_SEED`` (random when unset; the seed is in every failure message): some during
start-up, most after a random number of newly written files (so they land mid-work on any machine).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

SRC = Path(__file__).resolve().parents[1] / "src"
MAIN = "import sys; from packshot.cli import main; sys.argv[0] = 'packshot'; sys.exit(main())"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix != ".log" and not _bookkeeping(p.relative_to(root))}


def _bookkeeping(rel: Path) -> bool:
    """The run's job store and its reports (they record when each run ran), not outputs."""
    return rel.parts[0].startswith("packshot.db") or rel.as_posix() in ("report.html", "summary.csv",
                                                                         "failures.csv")


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []


def _leftovers(root: Path) -> list[str]:
    from packshot.imaging import is_temp_file
    from packshot.locking import LOCK_NAME

    return sorted(str(p) for p in root.rglob("*") if is_temp_file(p) or p.name.startswith(LOCK_NAME)
                  or p.name.endswith((".tmp", ".part")))


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    from packshot.samples import make_product, write_sample

    root = tmp_path_factory.mktemp("soak")
    photos, scratch = root / "photos", root / "scratch"
    photos.mkdir()
    kinds = ["bottle", "box", "jar", "can", "pouch"]
    for i in range(20):
        s = make_product(kinds[i % 5], seed=100 + i, size=(112, 112))
        shutil.move(write_sample(s, scratch, name=f"sku{i:02d}")["photo"], photos)
    brief = root / "brief.yaml"
    brief.write_text(yaml.safe_dump({"defaults": {"sizes": ["64x64"], "variants": 2, "seed": 11},
                                     "scenes": [{"name": "white", "preset": "studio-white"},
                                                {"name": "podium", "preset": "pastel-podium"}]}))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}

    def cmd(out: Path) -> list[str]:
        return [sys.executable, "-c", MAIN, "run", str(photos), "--brief", str(brief), "--out", str(out)]

    t0 = time.monotonic()
    ref = subprocess.run(cmd(root / "reference"), env=env, capture_output=True, text=True, timeout=600)
    full = time.monotonic() - t0
    assert ref.returncode == 0, ref.stderr
    t0 = time.monotonic()
    noop = subprocess.run(cmd(root / "reference"), env=env, capture_output=True, text=True, timeout=600)
    startup = time.monotonic() - t0  # a rerun with everything up to date: interpreter + imports
    assert noop.returncode == 0 and "0 frames written" in noop.stderr, noop.stderr
    return {"root": root, "cmd": cmd, "env": env, "full": full, "startup": startup}


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_ends_byte_identical(job):
    seed = int(os.environ.get("PACKSHOT_SOAK_SEED") or random.SystemRandom().randrange(1 << 30))
    rng = random.Random(seed)
    out = job["root"] / "killed"

    # SIGTERM first (plenty of work left): the run ends at once, removing its temp files and lock
    proc = subprocess.Popen(job["cmd"](out), env=job["env"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(job["startup"] + job["full"] / 8)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()[-2000:]
    assert not _leftovers(out), _leftovers(out)

    killed = 0
    moments = []
    total = len(_files(job["root"] / "reference"))
    for _ in range(10):
        proc = subprocess.Popen(job["cmd"](out), env=job["env"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if rng.random() < 0.3:
            # during start-up and the up-to-date checks
            delay = rng.uniform(0.0, job["startup"])
            moments.append(f"{delay:.2f}s")
            time.sleep(delay)
        else:
            # after a random amount of new work (files written): the moment follows progress, not a
            # wall-clock guess, so it lands mid-work however loaded the machine is
            target = len(_files(out)) + rng.randint(1, max(2, total // 8))
            moments.append(f"+{target}f")
            deadline = time.monotonic() + 300
            while proc.poll() is None and len(_files(out)) < target and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert proc.returncode == 0, f"seed {seed}: run ended {proc.returncode}: {err.decode()[-2000:]}"
    final = subprocess.run(job["cmd"](out), env=job["env"], capture_output=True, text=True, timeout=600)
    where = (f"seed {seed}, kill moments {moments} (s after start / files written; full run {job['full']:.1f} s, "
             f"startup {job['startup']:.1f} s)")
    assert final.returncode == 0, f"{where}: {final.stderr[-3000:]}"
    assert killed >= 5, f"{where}: only {killed} of 10 runs were still working when killed"
    reference, got = _tree(job["root"] / "reference"), _tree(out)
    assert sorted(got) == sorted(reference), f"{where}: files differ: {sorted(set(got) ^ set(reference))[:10]}"
    differ = [k for k in reference if got[k] != reference[k]]
    assert not differ, f"{where}: not byte-identical: {differ[:10]}"
    assert len([k for k in got if k.endswith("_alpha.png")]) == 20 * 4
    assert not _leftovers(out), f"{where}: left behind: {_leftovers(out)}"
