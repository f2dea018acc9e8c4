"""HTTP API cost and behaviour under load: ``POST /v1/cutout`` of a 2 MP photo.

Photo: the real ``apc15_cheezit_box.jpg`` from ../shared/photos, resized to 1224 x 1632 (2.0 MP), JPEG q92.

- **in-process (baseline)**: the same work the endpoint does, in this process, with the backend loaded
  once: ``decode_image(bytes)`` + ``segment(...)`` (default ``auto`` backend) + ``encode_cutout`` (RGBA PNG).
  Median of 5 after 1 warm-up.
- **HTTP**: ``packshot serve`` (2 workers, queue 8) in its own process on 127.0.0.1; one httpx client posts
  the photo as multipart and reads the PNG. Median of 5 after 1 warm-up. Target: <= 1.3 x in-process.
- **load test** (``--load``, on by default; ``--no-load`` skips it): 32 concurrent clients post the photo in
  a loop for 60 s (a client that gets 429 waits the Retry-After it was given, at most 2 s, then tries again).
  Checked: no status other than 200 and 429, no transport error or client timeout (every accepted request
  is answered), and no memory growth of the server: its resident memory (sampled every second from
  /proc) over the last 15 s may exceed that of seconds 10-25 by at most 10 %.

Run: ``.venv/bin/python benchmarks/serve.py [--no-load] [--seconds 60] [--clients 32]``
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import REPO, SHARED_PHOTOS, median_time, update_section

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

RATIO_TARGET = 1.3
PHOTO = SHARED_PHOTOS / "images" / "apc15_cheezit_box.jpg"


def photo_2mp() -> bytes:
    with Image.open(PHOTO) as img:
        img = img.convert("RGB")
        w, h = img.size
        scale = (2_000_000 / (w * h)) ** 0.5
        img = img.resize((round(w * scale), round(h * scale)), Image.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def in_process(data: bytes) -> float:
    from packshot.imaging import decode_image
    from packshot.segment import BACKENDS, SegmentConfig, segment
    from packshot.segment.io import encode_cutout

    backend = BACKENDS.create("auto")

    def once():
        image = decode_image(data, name="photo.jpg")
        return encode_cutout(segment(image, SegmentConfig(), backend=backend))

    median, _ = median_time(once, repeats=5, warmup=1)
    return median


def start_server(work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env.pop("PACKSHOT_TOKEN", None)
    code = ("import sys; from packshot.cli import main; "
            f"sys.exit(main(['serve', '--port', '{port}', '--workers', '2', '--queue', '8', "
            f"'--work-dir', {str(work)!r}]))")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while True:
        try:
            r = httpx.get(base + "/healthz", timeout=5)
            if r.status_code == 200 and r.json()["models_loaded"]:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)


def over_http(base: str, data: bytes) -> float:
    with httpx.Client(base_url=base, timeout=120) as client:
        def once():
            r = client.post("/v1/cutout", files={"image": ("photo.jpg", data, "image/jpeg")})
            r.raise_for_status()
            assert r.headers["content-type"] == "image/png"
            return r.content

        median, _ = median_time(once, repeats=5, warmup=1)
    return median


def load_test(base: str, pid: int, data: bytes, clients: int, seconds: float) -> dict:
    statuses: dict[int, int] = {}
    errors: list[str] = []
    latencies: list[float] = []
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    t_start = time.time()

    def sample_memory():
        while not stop.is_set():
            samples.append((time.time() - t_start, rss_bytes(pid)))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()

    async def client_loop(n: int):
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
            while time.time() - t_start < seconds:
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/cutout", files={"image": ("photo.jpg", data, "image/jpeg")})
                except Exception as exc:  # a transport error or a timeout: an accepted request not answered
                    errors.append(f"client {n}: {type(exc).__name__}: {exc}")
                    continue
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                    if not r.content.startswith(b"\x89PNG"):
                        errors.append(f"client {n}: 200 without a PNG")
                elif r.status_code == 429:
                    await asyncio.sleep(min(2.0, float(r.headers.get("retry-after", "1"))))
                else:
                    errors.append(f"client {n}: HTTP {r.status_code} {r.text[:200]}")

    async def everyone():
        await asyncio.gather(*(client_loop(i) for i in range(clients)))

    asyncio.run(everyone())
    stop.set()
    sampler.join(5)
    early = [m for t, m in samples if 10 <= t <= 25] or [samples[0][1]]
    late = [m for t, m in samples if t >= seconds - 15] or [samples[-1][1]]
    early_mb, late_mb = statistics.median(early) / 2**20, statistics.median(late) / 2**20
    growth_ok = late_mb <= early_mb * 1.10
    return {"statuses": statuses, "errors": errors, "latencies": latencies, "early_mb": early_mb,
            "late_mb": late_mb, "peak_mb": max(m for _, m in samples) / 2**20, "growth_ok": growth_ok,
            "wall": time.time() - t_start}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-load", action="store_true", help="skip the load test")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()

    data = photo_2mp()
    with Image.open(io.BytesIO(data)) as img:
        size = img.size
    t_in = in_process(data)
    with tempfile.TemporaryDirectory(prefix="packshot-serve-bench-") as work:
        proc, base = start_server(Path(work))
        try:
            t_http = over_http(base, data)
            load = None if args.no_load else load_test(base, proc.pid, data, args.clients, args.seconds)
            metrics = httpx.get(base + "/metrics", timeout=10).text
        finally:
            proc.terminate()
            proc.wait(30)
    ratio = t_http / t_in
    ok_ratio = ratio <= RATIO_TARGET
    md = f"""## HTTP API (`benchmarks/serve.py`)

`POST /v1/cutout` of a real photo resized to {size[0]} x {size[1]} ({size[0] * size[1] / 1e6:.1f} MP, JPEG q92),
default `auto` backend; `packshot serve --workers 2 --queue 8` in its own process on 127.0.0.1.

| path | median | ratio |
|---|---|---|
| in-process: decode + segment + encode PNG (baseline) | {t_in:.3f} s | 1.00 x |
| HTTP: multipart upload -> RGBA PNG | {t_http:.3f} s | {ratio:.2f} x (target <= {RATIO_TARGET} x: {'PASS' if ok_ratio else 'FAIL'}) |
"""
    ok_load = True
    if load is not None:
        st = load["statuses"]
        answered = sum(st.values())
        only_429 = set(st) <= {200, 429} and not load["errors"]
        ok_load = only_429 and load["growth_ok"] and st.get(200, 0) > 0
        lat = sorted(load["latencies"])
        p50 = statistics.median(lat) if lat else float("nan")
        p95 = lat[int(0.95 * (len(lat) - 1))] if lat else float("nan")
        errors = "; ".join(load["errors"][:5]) or "none"
        md += f"""
Load test: {args.clients} concurrent clients for {args.seconds:.0f} s ({load['wall']:.0f} s with the last answers),
each posting the photo in a loop and waiting the Retry-After of a 429 (at most 2 s).

| measure | value |
|---|---|
| requests answered | {answered} ({st.get(200, 0)} x 200, {st.get(429, 0)} x 429, other: {sum(v for k, v in st.items() if k not in (200, 429))}) |
| errors (transport, timeout, other status) | {errors} |
| latency of accepted requests | median {p50:.2f} s, p95 {p95:.2f} s |
| server memory, seconds 10-25 -> last 15 s | {load['early_mb']:.0f} MiB -> {load['late_mb']:.0f} MiB (peak {load['peak_mb']:.0f} MiB) |

**Load test: {'PASS' if ok_load else 'FAIL'}** (only 200 and 429, every request answered, memory growth
<= 10 %: {'yes' if load['growth_ok'] else 'no'}).
"""
    model_loads = [line for line in metrics.splitlines() if line.startswith("packshot_model_loads")]
    md += f"\nModels created in the server process over the whole run: `{model_loads[0] if model_loads else '?'}`.\n"
    update_section("serve", md)
    return 0 if ok_ratio and ok_load else 1


if __name__ == "__main__":
    sys.exit(main())
