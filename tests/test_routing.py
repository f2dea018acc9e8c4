"""Routing: fsspec destinations, atomic uploads, retries, manifest; S3 against a real moto server.

The S3 tests start ``moto_server`` on 127.0.0.1 (one server for the module) and talk to it
through s3fs, as a user would talk to S3. The mid-upload failure is a real one: a TCP proxy
between s3fs and moto forwards the first PUT's headers and part of its body, then drops the
connection.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

from fsspec.implementations.memory import MemoryFileSystem
import numpy as np
import pytest

from packshot.errors import InputError, MissingExtraError
from packshot.export.delivery.deliver import export_frames
from packshot.export.delivery.metadata import read_metadata
from packshot.export.compliance.profiles import Profile
from packshot.export.delivery.routing import Destination, DestinationError, RetryPolicy, is_retryable, write_manifest
from packshot.imaging import resize_linear, save_gray, save_image

VENV_BIN = Path(sys.executable).parent


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def contain_on_white(rgb, alpha, profile):
    """A stand-in fixer: fit the frame into the profile's size on white."""
    w, h = profile.size
    H, W = rgb.shape[:2]
    s = min(w / W, h / H)
    nw, nh = max(1, round(W * s)), max(1, round(H * s))
    out = np.ones((h, w, 3), np.float32)
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = resize_linear(rgb, (nw, nh))
    return SimpleNamespace(rgb=out, alpha=None, provenance={"fixer": "contain-on-white"}, upscaled=False)


def write_frame(root: Path, sku: str, scene: str, variant: str, kind: str = "embedded", seed: int = 0) -> Path:
    """A frame in the render layout: <sku>/<scene>/<variant>.png + .json + _alpha.png."""
    rng = np.random.default_rng(seed)
    rgb = np.ones((96, 128, 3), np.float32)
    rgb[20:80, 40:90] = rng.random(3, dtype=np.float32) * 0.8
    alpha = np.zeros((96, 128), np.float32)
    alpha[20:80, 40:90] = 1.0
    folder = root / sku / scene
    save_image(folder / f"{variant}.png", rgb)
    save_gray(folder / f"{variant}_alpha.png", alpha)
    sidecar = folder / f"{variant}.json"
    sidecar.write_text(json.dumps({
        "sku": sku, "scene": scene, "variant": variant, "size": [128, 96], "product_box": [40, 20, 90, 80],
        "product_alpha": f"{variant}_alpha.png", "cutout": "cutout.png", "source_kind": kind,
        "placement": {"matrix": [[1, 0, 0], [0, 1, 0]], "center": [65, 50], "scale": 1.0, "rotation": 0.0},
        "provenance": {"stage": "render", "seed": seed},
    }))
    return sidecar


PROFILES = [Profile(name="square", size=(120, 120), formats=("JPEG",)),
            Profile(name="portrait", size=(96, 120), aspect=0.8, formats=("PNG",))]


class CuttingProxy:
    """A TCP proxy to ``upstream`` that breaks the first ``cuts`` PUTs of keys containing ``match``
    after forwarding their headers and part of their body (a connection dropped mid-upload)."""

    def __init__(self, upstream_port: int, match: bytes, cuts: int = 1, body_bytes: int = 200):
        self.upstream_port, self.match, self.cuts_left, self.body_bytes = upstream_port, match, cuts, body_bytes
        self.cut_count = 0
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump_up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(upstream, client), daemon=True).start()

    def _pump_up(self, client, upstream):
        budget = None  # bytes of the current PUT still allowed through before the cut
        try:
            while data := client.recv(65536):
                if budget is None and data.startswith(b"PUT ") and self.match in data.split(b"\r\n", 1)[0]:
                    with self.lock:
                        if self.cuts_left > 0:
                            self.cuts_left -= 1
                            head_end = data.find(b"\r\n\r\n")
                            budget = (head_end + 4 if head_end >= 0 else len(data)) + self.body_bytes
                if budget is not None:
                    upstream.sendall(data[:budget])
                    budget -= min(budget, len(data))
                    if budget == 0:
                        self.cut_count += 1
                        raise ConnectionAbortedError("cut by the test proxy")
                else:
                    upstream.sendall(data)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    @staticmethod
    def _pump_down(upstream, client):
        try:
            while data := upstream.recv(65536):
                client.sendall(data)
        except OSError:
            pass

    def close(self):
        self.server.close()


# ------------------------------------------------------------------------------------------------
# the moto server
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def moto_port():
    old_region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    port = _free_port()
    proc = subprocess.Popen([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto_server did not start")
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    if old_region is None:
        os.environ.pop("AWS_DEFAULT_REGION", None)
    else:
        os.environ["AWS_DEFAULT_REGION"] = old_region


def s3_options(port: int, **extra) -> dict:
    return {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
            "skip_instance_cache": True, **extra}


def s3_without_own_retries(port: int):
    """s3fs through ``port`` with its own and botocore's retries off, so the retry under test is packshot's."""
    import s3fs

    fs = s3fs.S3FileSystem(**s3_options(port, config_kwargs={"retries": {"total_max_attempts": 1}}))
    fs.retries = 1
    return fs


@pytest.fixture
def bucket(moto_port, request):
    import s3fs

    fs = s3fs.S3FileSystem(**s3_options(moto_port))
    name = "packshot-" + hashlib.sha1(request.node.name.encode()).hexdigest()[:12]
    fs.mkdir(name)
    return SimpleNamespace(name=name, fs=fs, port=moto_port)


# ------------------------------------------------------------------------------------------------
# S3
# ------------------------------------------------------------------------------------------------
def test_export_to_s3_writes_files_manifest_and_feed(bucket, tmp_path):
    frames = [write_frame(tmp_path / "frames", "SKU-1", "studio", "1", "diffusion"),
              write_frame(tmp_path / "frames", "SKU-1", "kitchen", "2", "embedded", seed=1)]
    result = export_frames(frames, PROFILES, f"s3://{bucket.name}/exports", fixer=contain_on_white,
                           storage_options=s3_options(bucket.port), feed="google",
                           public_url="https://cdn.example.com/exports", local_manifest=tmp_path / "manifest.json")
    assert result.ok, result.failures
    assert len(result.files) == 4
    for f in result.files:
        data = bucket.fs.cat_file(f"{bucket.name}/exports/{f.path}")
        assert hashlib.sha256(data).hexdigest() == f.sha256 and len(data) == f.bytes
        assert f.url == f"s3://{bucket.name}/exports/{f.path}"
        info = bucket.fs.info(f"{bucket.name}/exports/{f.path}")
        assert info["ContentType"] == ("image/jpeg" if f.format == "JPEG" else "image/png")
    meta = read_metadata(bucket.fs.cat_file(f"{bucket.name}/exports/{result.files[0].path}"))
    assert meta.digital_source_type.endswith("/compositeWithTrainedAlgorithmicMedia")
    remote = json.loads(bucket.fs.cat_file(f"{bucket.name}/exports/packshot-manifest.json"))
    local = json.loads((tmp_path / "manifest.json").read_text())
    assert remote == local
    assert {f["path"] for f in remote["files"]} == {f.path for f in result.files}
    assert all(f["sha256"] and f["bytes"] > 0 and f["provenance"]["stage"] == "export" for f in remote["files"])
    feed = bucket.fs.cat_file(f"{bucket.name}/exports/feeds/google_merchant_images.tsv").decode()
    assert feed.splitlines()[0] == "id\timage_link\tadditional_image_link"
    assert "https://cdn.example.com/exports/SKU-1_studio_1_square.jpg" in feed


def test_s3_upload_cut_mid_body_is_retried_and_never_half_written(bucket, tmp_path):
    """A real dropped connection: the proxy forwards the PUT headers and 200 body bytes, then cuts.

    aiohttp itself resends an idempotent request once when a reused keep-alive connection drops,
    so two cuts are needed for the failure to reach packshot's retry.
    """
    proxy = CuttingProxy(bucket.port, match=b"SKU-1_studio_1_square", cuts=2, body_bytes=200)
    seen_between_tries = []
    try:
        dest = Destination(f"s3://{bucket.name}/cut", filesystem=s3_without_own_retries(proxy.port),
                           retry=RetryPolicy(attempts=3, base_delay=0.01, seed=1),
                           sleep=lambda s: seen_between_tries.append(
                               (s, bucket.fs.exists(f"{bucket.name}/cut/SKU-1_studio_1_square.jpg"))))
        frame = write_frame(tmp_path / "frames", "SKU-1", "studio", "1")
        result = export_frames([frame], PROFILES[:1], dest, fixer=contain_on_white)
    finally:
        proxy.close()
    assert proxy.cut_count == 2
    assert result.ok, result.failures
    (f,) = result.files
    assert f.attempts in (2, 3)
    # while the upload was failing nothing was at the final key
    assert seen_between_tries and seen_between_tries[0][1] is False
    bucket.fs.invalidate_cache()
    data = bucket.fs.cat_file(f"{bucket.name}/cut/{f.path}")
    assert hashlib.sha256(data).hexdigest() == f.sha256
    assert read_metadata(data).size == (120, 120)
    listing = bucket.fs.find(f"{bucket.name}/cut")
    assert sorted(p.rsplit("/", 1)[1] for p in listing) == ["SKU-1_studio_1_square.jpg", "packshot-manifest.json"]


def test_s3_failure_that_persists_is_reported_and_leaves_no_object(bucket, tmp_path):
    proxy = CuttingProxy(bucket.port, match=b"SKU-1_studio_1_square", cuts=5, body_bytes=100)
    sleeps = []
    try:
        dest = Destination(f"s3://{bucket.name}/fail", filesystem=s3_without_own_retries(proxy.port), retry=RetryPolicy(attempts=2, base_delay=0.01,
                                                                                   seed=3), sleep=sleeps.append)
        frames = [write_frame(tmp_path / "frames", "SKU-1", "studio", "1"),
                  write_frame(tmp_path / "frames", "SKU-2", "studio", "1", seed=2)]
        result = export_frames(frames, PROFILES[:1], dest, fixer=contain_on_white)
    finally:
        proxy.close()
    assert [f.sku for f in result.files] == ["SKU-2"]  # the other frame still went through
    (failure,) = result.failures
    assert failure.profile == "square" and "after 2 tries" in failure.error
    assert f"s3://{bucket.name}/fail/SKU-1_studio_1_square.jpg" in failure.error
    assert len(sleeps) == 1
    bucket.fs.invalidate_cache()
    assert not bucket.fs.exists(f"{bucket.name}/fail/SKU-1_studio_1_square.jpg")
    manifest = json.loads(bucket.fs.cat_file(f"{bucket.name}/fail/packshot-manifest.json"))
    assert manifest["failures"][0]["profile"] == "square"


def test_missing_bucket_is_a_clear_destination_error(bucket):
    with pytest.raises(DestinationError, match="s3://no-such-bucket-xyz/x.*does not exist"):
        Destination("s3://no-such-bucket-xyz/x", s3_options(bucket.port)).preflight()


# ------------------------------------------------------------------------------------------------
# other protocols, retries, atomicity
# ------------------------------------------------------------------------------------------------
class FailingMoves(MemoryFileSystem):
    """A file system without atomic PUT semantics whose first ``mv`` calls fail."""

    protocol = ("flaky",)
    failures_left = 0

    def mv(self, path1, path2, **kwargs):
        if FailingMoves.failures_left > 0:
            FailingMoves.failures_left -= 1
            raise ConnectionResetError("injected: connection reset during move")
        return super().mv(path1, path2, **kwargs)


def test_generic_protocol_uploads_to_a_temporary_key_and_cleans_up():
    fs = FailingMoves()
    fs.store.clear()
    FailingMoves.failures_left = 1
    sleeps = []
    dest = Destination("flaky://bucket/out", filesystem=fs, retry=RetryPolicy(attempts=3, base_delay=0.5, seed=7),
                       sleep=sleeps.append)
    assert not dest.atomic_put
    delivered = dest.put("a/b.txt", b"hello")
    assert delivered.attempts == 2 and len(sleeps) == 1
    assert dest.read_bytes("a/b.txt") == b"hello"
    assert [p for p in fs.store if p.endswith(".part")] == []

    FailingMoves.failures_left = 5
    with pytest.raises(DestinationError, match="flaky://bucket/out/c.txt.*after 3 tries"):
        dest.put("c.txt", b"x")
    assert not fs.exists(dest.target("c.txt"))
    assert [p for p in fs.store if p.endswith(".part")] == []
    assert any(p.endswith("a/b.txt") for p in fs.store)


def test_memory_destination_and_manifest(tmp_path):
    dest = Destination("memory://packshot-test-manifest")
    delivered, local = write_manifest({"files": [1]}, dest, local_path=tmp_path / "m.json")
    assert json.loads(dest.read_bytes("packshot-manifest.json")) == {"files": [1]}
    assert json.loads(local.read_text()) == {"files": [1]}
    assert delivered.url == "memory://packshot-test-manifest/packshot-manifest.json"


def test_backoff_is_exponential_capped_and_deterministic_when_seeded():
    policy = RetryPolicy(attempts=6, base_delay=0.1, max_delay=0.5, jitter=0.5, seed=42)
    delays = [policy.delay(n, "k") for n in range(1, 6)]
    assert delays == [policy.delay(n, "k") for n in range(1, 6)]
    for n, d in enumerate(delays, start=1):
        full = min(0.5, 0.1 * 2 ** (n - 1))
        assert full * 0.5 <= d <= full
    assert RetryPolicy(jitter=0.0).delay(3) == 1.0
    assert delays != [RetryPolicy(attempts=6, base_delay=0.1, max_delay=0.5, seed=43).delay(n, "k")
                      for n in range(1, 6)]


def test_permanent_errors_are_not_retried(tmp_path):
    assert not is_retryable(PermissionError("denied"))
    assert not is_retryable(FileNotFoundError("no bucket"))
    assert is_retryable(ConnectionResetError("reset"))
    assert is_retryable(TimeoutError())
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    sleeps = []
    dest = Destination(tmp_path / "ok", sleep=sleeps.append)
    with pytest.raises(InputError, match="not a safe relative path"):
        dest.put("../a-file/x.jpg", b"x")
    dest = Destination(blocker / "sub", sleep=sleeps.append)
    with pytest.raises(DestinationError, match=str(blocker)):
        dest.preflight()
    with pytest.raises(DestinationError, match=str(blocker)):
        dest.put("x.jpg", b"x")
    assert sleeps == []


def test_local_writes_are_atomic_and_leave_no_temporaries(tmp_path):
    dest = Destination(f"file://{tmp_path}/out")
    dest.put("sub/a.jpg", b"1" * 100)
    dest.put("sub/a.jpg", b"2" * 50)  # overwrite in place
    assert (tmp_path / "out/sub/a.jpg").read_bytes() == b"2" * 50
    assert sorted(p.name for p in (tmp_path / "out/sub").iterdir()) == ["a.jpg"]


def test_gs_without_gcsfs_names_the_extra(monkeypatch):
    try:
        import gcsfs  # noqa: F401
        pytest.skip("gcsfs is installed here")
    except ImportError:
        pass
    with pytest.raises(MissingExtraError, match="gcsfs.*packshot\\[gcs\\]"):
        Destination("gs://bucket/prefix")


def test_credentials_never_reach_urls():
    dest = Destination("memory://user:secret@host/x")
    assert "secret" not in dest.display and "secret" not in dest.url_for("a.jpg")
