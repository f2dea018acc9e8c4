"""Review app response times with 5,000 frames: the queue page and the frame page, over real HTTP.

The run folder is generated (:func:`packshot.web.sample_run.make_sample_run`: 625 SKUs x 2 scenes x 4
variants = 5,000 frames, each with its PNG, sidecar, alpha and QA report, laid out as the pipeline
writes them). ``packshot review DIR`` runs in its own process (uvicorn, 127.0.0.1); this script is the
client (httpx, one connection, keep-alive) and times whole responses (HTML received).

- **queue page**: ``/`` (first page of 60), a page in the middle (``/?page=40``), and filtered
  (``/?verdict=review&scene=podium``) after 5 decisions were recorded.
- **frame page**: ``/frame/<sku>/<scene>/<variant>`` for frames spread over the queue.
- **baseline**: ``/healthz`` on the same server (the HTTP floor: routing, JSON, one round trip).
- also reported: start-up indexing of the 5,000 frames, and a thumbnail made vs served from cache.

Median of 30 requests after 3 warm-ups each. Targets: queue <= 300 ms, frame <= 200 ms.

Run: ``.venv/bin/python benchmarks/review.py``
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from _common import REPO, update_section

import httpx  # noqa: E402

from packshot.web.sample_run import make_sample_run  # noqa: E402

QUEUE_TARGET_S = 0.300
FRAME_TARGET_S = 0.200
SKUS, SCENES, VARIANTS = 625, ("hero", "podium"), 4
REPEATS, WARMUP = 30, 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(client: httpx.Client, url: str, repeats: int = REPEATS, warmup: int = WARMUP) -> float:
    for _ in range(warmup):
        client.get(url).raise_for_status()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = client.get(url)
        samples.append(time.perf_counter() - t0)
        r.raise_for_status()
    return statistics.median(samples)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="packshot-review-bench-") as tmp:
        t0 = time.perf_counter()
        run = make_sample_run(tmp, skus=SKUS, scenes=SCENES, variants=VARIANTS, reuse_images=True)
        t_make = time.perf_counter() - t0
        frames = SKUS * len(SCENES) * VARIANTS
        port = free_port()
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        env.pop("PACKSHOT_TOKEN", None)
        code = ("import sys; from packshot.cli import main; "
                f"sys.exit(main(['review', {str(run)!r}, '--port', '{port}', '--reviewer', 'bench']))")
        t0 = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                deadline = time.time() + 300
                while True:
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if server.poll() is not None or time.time() > deadline:
                        raise RuntimeError(f"server did not start: {server.stderr.read().decode()[-2000:]}")
                    time.sleep(0.1)
                t_start = time.perf_counter() - t0  # process start + indexing 5,000 sidecars and QA reports

                first = client.get("/")
                assert first.status_code == 200 and f"{frames} frames" in first.text, first.text[:500]
                csrf = client.cookies.get("packshot_csrf")
                ids = [f"sku-{s:05d}/{scene}/v{v}" for s in (0, 100, 300, 500, 624) for scene in SCENES[:1]
                       for v in range(1)]
                for fid in ids:
                    r = client.post(f"/decide/{fid}", data={"decision": "approve", "who": "bench", "csrf_token": csrf},
                                    headers={"Accept": "application/json"})
                    r.raise_for_status()

                t_health = timed(client, "/healthz")
                t_queue = timed(client, "/")
                t_queue_mid = timed(client, "/?page=40")
                t_queue_filtered = timed(client, "/?verdict=review&scene=podium")
                t_queue_decided = timed(client, "/?decision=approved")
                frame_times = [timed(client, f"/frame/{fid}", repeats=10) for fid in
                               ("sku-00000/hero/v0", "sku-00312/podium/v2", "sku-00624/podium/v3")]
                t_frame = statistics.median(frame_times)

                t0 = time.perf_counter()
                client.get("/thumb/sku-00400/hero/v1").raise_for_status()
                t_thumb_make = time.perf_counter() - t0
                t_thumb_cached = timed(client, "/thumb/sku-00400/hero/v1")
        finally:
            server.terminate()
            server.wait(20)

    t_queue_worst = max(t_queue, t_queue_mid, t_queue_filtered, t_queue_decided)
    ok_queue = t_queue_worst <= QUEUE_TARGET_S
    ok_frame = t_frame <= FRAME_TARGET_S
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    md = f"""## Review app (`benchmarks/review.py`)

{frames:,} generated frames ({SKUS} SKUs x {len(SCENES)} scenes x {VARIANTS} variants, each with PNG, sidecar,
alpha and QA report); `packshot review DIR` in its own process on 127.0.0.1, timed from an httpx client
(whole response received, keep-alive), median of {REPEATS} after {WARMUP} warm-ups.

| request | median | target | ratio to /healthz |
|---|---|---|---|
| `/healthz` (baseline: the HTTP floor) | {ms(t_health)} | | 1.0 x |
| queue `/` (first page of 60) | {ms(t_queue)} | <= 300 ms | {t_queue / t_health:.1f} x |
| queue `/?page=40` | {ms(t_queue_mid)} | <= 300 ms | {t_queue_mid / t_health:.1f} x |
| queue `/?verdict=review&scene=podium` | {ms(t_queue_filtered)} | <= 300 ms | {t_queue_filtered / t_health:.1f} x |
| queue `/?decision=approved` | {ms(t_queue_decided)} | <= 300 ms | {t_queue_decided / t_health:.1f} x |
| frame page (median of 3 frames across the queue) | {ms(t_frame)} | <= 200 ms | {t_frame / t_health:.1f} x |
| thumbnail, first request (made and cached) | {ms(t_thumb_make)} | | |
| thumbnail, cached | {ms(t_thumb_cached)} | | |

Start-up (process start, imports, indexing {frames:,} sidecars + QA reports into the review store): {t_start:.1f} s;
generating the folder took {t_make:.1f} s (not part of any figure).

**Targets: queue page {'PASS' if ok_queue else 'FAIL'} (worst {ms(t_queue_worst)}), frame page
{'PASS' if ok_frame else 'FAIL'} ({ms(t_frame)}).**
"""
    update_section("review", md)
    return 0 if ok_queue and ok_frame else 1


if __name__ == "__main__":
    sys.exit(main())
