"""The review app in a real browser: Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``,
headless, no sandbox) against a real uvicorn server on 127.0.0.1.

It opens the queue, approves a frame with the keyboard, rejects one with a comment, draws a box prompt on a
source photo and asks for a re-render, reloads and sees every decision persisted. Screenshots are saved as
test artefacts in ``$PACKSHOT_TEST_ARTIFACTS`` (default ``test-artifacts/``) under ``review/``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

# CI sets PACKSHOT_REQUIRE_BROWSER=1: there a missing Playwright or Chromium fails instead of skipping
REQUIRED = os.environ.get("PACKSHOT_REQUIRE_BROWSER") == "1"
if REQUIRED:
    import playwright.sync_api as playwright_api
else:
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    playwright_api = pytest.importorskip("playwright.sync_api")

from packshot.web.app import AppSettings, create_app  # noqa: E402
from packshot.web.sample_run import make_sample_run  # noqa: E402
from packshot.web.store import ReviewStore, store_path  # noqa: E402

CHROMIUM = os.environ.get("PACKSHOT_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("PACKSHOT_TEST_ARTIFACTS", REPO / "test-artifacts")) / "review"

if REQUIRED and not Path(CHROMIUM).exists():
    raise RuntimeError(f"{CHROMIUM} is missing: install it with `apt-get install chromium`")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} missing: CI installs it with `apt-get install chromium`")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tmp_path):
    import uvicorn

    run = make_sample_run(tmp_path, skus=3, scenes=("hero", "podium"), variants=2, size=192)
    app = create_app(AppSettings(review_dir=run, preload_models=False, reviewer="tester"))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", run
    srv.should_exit = True
    thread.join(10)


@pytest.fixture()
def page():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 950})
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        pg.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        yield pg
        browser.close()
        # a CSP violation or a script error shows up here
        assert not errors, errors


def test_review_in_a_real_browser(server, page):
    base, run = server
    expect = playwright_api.expect
    expect.set_options(timeout=20_000)  # a loaded CI machine makes the first preview of each layer slowly
    page.set_default_timeout(30_000)
    page.goto(base + "/")
    cards = page.locator("#queue .card")
    expect(cards).to_have_count(12)
    ids = [cards.nth(i).get_attribute("data-frame") for i in range(4)]
    expect(cards.nth(0)).to_have_class(r"card v-pass selected")
    page.screenshot(path=str(ARTIFACTS / "01-queue.png"), full_page=True)

    # a: approve the selected (first) frame with the keyboard; the selection moves on
    page.keyboard.press("a")
    expect(cards.nth(0)).to_contain_class("d-approved")
    expect(cards.nth(0).locator('[data-role="decision"]')).to_have_text("approved by tester")
    expect(cards.nth(1)).to_contain_class("selected")

    # j moves on once more; r rejects with a comment
    page.keyboard.press("j")
    expect(cards.nth(2)).to_contain_class("selected")
    page.keyboard.press("r")
    expect(page.locator("#reject-dialog")).to_be_visible()
    page.locator("#reject-comment").fill("label text is blurred")
    page.screenshot(path=str(ARTIFACTS / "02-reject-dialog.png"))
    page.keyboard.press("Enter")
    expect(cards.nth(2)).to_contain_class("d-rejected")
    page.screenshot(path=str(ARTIFACTS / "03-queue-decided.png"), full_page=True)

    # the frame page of the fourth frame: overlays, zoom, loupe, and a box drawn on the photo
    fid = cards.nth(3).get_attribute("data-frame")
    cards.nth(3).locator("a").click()
    expect(page).to_have_url(f"{base}/frame/{fid}")
    for layer in ("layer-heat", "layer-outline", "layer-ocr"):
        page.locator(f'[data-layer="{layer}"]').check()
        expect(page.locator(f"#{layer}")).to_be_visible()
    expect(page.locator("#layer-outline")).to_have_js_property("complete", True)
    assert page.locator("#layer-outline").evaluate("img => img.naturalWidth") == 192
    page.locator("#loupe-toggle").check()
    box = page.locator("#frame-img").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#loupe")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "04-frame-overlays-loupe.png"), full_page=True)

    photo = page.locator("#photo-img")
    expect(photo).to_have_js_property("complete", True)
    pb = photo.bounding_box()
    # the photo is 384 px wide (192 * 2); drag from 25 % to 75 % of it
    page.mouse.move(pb["x"] + pb["width"] * 0.25, pb["y"] + pb["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(pb["x"] + pb["width"] * 0.5, pb["y"] + pb["height"] * 0.5, steps=5)
    page.mouse.move(pb["x"] + pb["width"] * 0.75, pb["y"] + pb["height"] * 0.75, steps=5)
    page.mouse.up()
    value = page.locator("#box").input_value()
    x0, y0, x1, y1 = (int(v) for v in value.split(","))
    assert abs(x0 - 96) <= 3 and abs(y0 - 96) <= 3 and abs(x1 - 288) <= 3 and abs(y1 - 288) <= 3, value
    expect(page.locator("#box-rect")).to_be_visible()
    page.locator("#rerender-form textarea[name=comment]").fill("keep the box, new light")
    page.locator("#new-seed").click()
    seed = int(page.locator("#seed").input_value())
    page.screenshot(path=str(ARTIFACTS / "05-box-prompt.png"), full_page=True)
    page.locator("#rerender-btn").click()
    expect(page.locator("#current-decision")).to_contain_text("rerender by tester")

    # reload: everything is still there
    page.goto(base + "/")
    page.reload()
    expect(cards.nth(0)).to_contain_class("d-approved")
    expect(cards.nth(2)).to_contain_class("d-rejected")
    expect(cards.nth(3)).to_contain_class("d-rerender")
    page.screenshot(path=str(ARTIFACTS / "06-queue-after-reload.png"), full_page=True)
    page.goto(f"{base}/frame/{ids[2]}")
    expect(page.locator("#history")).to_contain_text("label text is blurred")
    page.goto(f"{base}/frame/{fid}")
    expect(page.locator("#history")).to_contain_text(f"seed {seed}")
    expect(page.locator("#history")).to_contain_text(f"box {x0},{y0},{x1},{y1}")

    # keyboard on the frame page: j goes to the next frame, a approves it
    page.keyboard.press("j")
    expect(page).not_to_have_url(f"{base}/frame/{fid}")
    next_fid = page.locator("#frame-page").get_attribute("data-frame")
    page.keyboard.press("a")  # approves, then moves on to the frame after it
    page.wait_for_url(lambda url: not url.endswith(next_fid))
    expect(page.locator("#prev-link")).to_have_attribute("href", f"/frame/{next_fid}")
    page.screenshot(path=str(ARTIFACTS / "07-frame-after-approve.png"), full_page=True)

    # and the store agrees, with who and when
    store = ReviewStore(store_path(run))
    rows = {fid_: store.frame(fid_) for fid_ in (ids[0], fid, next_fid)}
    assert [r["decision"] for r in rows.values()] == ["approved", "rerender", "approved"]
    assert all(r["decided_by"] == "tester" and r["decided_at"].endswith("Z") for r in rows.values())
    [request] = [d for d in store.history(fid) if d.decision == "rerender"]
    assert request.box == (x0, y0, x1, y1) and request.seed == seed and request.comment == "keep the box, new light"
