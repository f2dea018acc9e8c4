"""--json / --quiet of the commands that are not batches of photos: serve and review (a ready object when
the server listens; review --list, the queue one frame per line), credentials init / show, and check's
--max-pixels."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from packshot.cli import app

runner = CliRunner()
PACKSHOT = [sys.executable, "-c", "import sys; from packshot.cli import main; sys.exit(main(sys.argv[1:]))"]
TOKEN = "a-long-enough-test-token-1234"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from packshot.web.sample_run import make_sample_run

    return make_sample_run(tmp_path_factory.mktemp("review"), skus=3, scenes=("hero", "podium"), variants=2, size=48)


class _Server:
    """``packshot ARGS`` in a child process; ``ready()`` is the first line of its stdout, parsed."""

    def __init__(self, args, env=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PACKSHOT_TOKEN")} | (env or {})
        self.proc = subprocess.Popen([*PACKSHOT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self._lines.put(x) for x in self.proc.stdout], daemon=True).start()

    def ready(self, timeout=60.0) -> dict:
        try:
            return json.loads(self._lines.get(timeout=timeout))
        except queue.Empty:
            self.proc.kill()
            pytest.fail(f"no ready line in {timeout} s; stderr: {self.proc.stderr.read()}")

    def stop(self) -> tuple[str, str]:
        """Stop the server (SIGTERM: a clean shutdown); return (the rest of stdout, stderr)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        time.sleep(0.05)
        rest = []
        while not self._lines.empty():
            rest.append(self._lines.get())
        return "".join(rest), self.proc.stderr.read()


def test_serve_json_reports_the_bound_address_once_it_listens(tmp_path):
    import httpx

    server = _Server(["serve", "--port", "0", "-s", "u2netp", "--work-dir", str(tmp_path / "jobs"), "--json"])
    try:
        ready = server.ready()
        assert ready["event"] == "ready" and ready["host"] == "127.0.0.1" and ready["port"] > 0  # port 0: a free one
        assert ready["url"] == f"http://127.0.0.1:{ready['port']}/" and ready["docs"] == ready["url"] + "docs"
        assert ready["auth"] == "none" and ready["token_file"] is None and ready["token_source"] is None
        assert ready["segmenter"] == "u2netp" and ready["work_dir"] == str(tmp_path / "jobs")
        assert httpx.get(ready["url"] + "healthz", timeout=10).status_code == 200  # it really listens there
    finally:
        rest, err = server.stop()
    assert rest == ""  # one object, nothing else on stdout
    assert f"packshot API on {ready['url']}" in err  # the prose went to stderr


def test_review_json_with_a_token_file_names_the_file_never_the_token(tmp_path, run):
    import httpx

    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    server = _Server(["review", str(run), "--port", "0", "--token-file", str(token_file), "--json", "-q"])
    try:
        ready = server.ready()
        assert ready["auth"] == "bearer" and ready["token_file"] == str(token_file)
        assert ready["token_source"] == str(token_file) and ready["run_dir"] == str(run)
        assert httpx.get(ready["url"], timeout=10).status_code == 401  # the token is required
        assert httpx.get(ready["url"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).status_code == 200
    finally:
        rest, err = server.stop()
    assert TOKEN not in json.dumps(ready) + rest + err
    assert "packshot review of" not in err  # --quiet: no prose


def test_token_origin_follows_resolve_tokens_order(monkeypatch, tmp_path):
    from packshot.cli._web import token_origin

    monkeypatch.delenv("PACKSHOT_TOKEN", raising=False)
    monkeypatch.delenv("PACKSHOT_TOKEN_FILE", raising=False)
    assert token_origin(None, None) == (None, None)
    monkeypatch.setenv("PACKSHOT_TOKEN_FILE", str(tmp_path / "t"))
    assert token_origin(None, TOKEN) == ("$PACKSHOT_TOKEN_FILE", str(tmp_path / "t"))
    monkeypatch.setenv("PACKSHOT_TOKEN", TOKEN)
    assert token_origin(None, TOKEN) == ("$PACKSHOT_TOKEN", None)
    assert token_origin(tmp_path / "f", TOKEN) == (str(tmp_path / "f"), str(tmp_path / "f"))


def test_a_port_in_use_exits_1_naming_the_error(tmp_path, run):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = subprocess.run([*PACKSHOT, "review", str(run), "--port", str(port), "--json"], capture_output=True,
                             text=True, timeout=60)
    assert res.returncode == 1 and res.stdout == ""  # never a ready line for a server that is not listening
    assert "address already in use" in res.stderr.lower() or "error while attempting to bind" in res.stderr.lower()


def test_review_list_prints_the_queue_one_object_per_frame(run):
    from packshot.web.store import open_store

    res = runner.invoke(app, ["review", str(run), "--list", "--json"])
    assert res.exit_code == 0, res.output
    frames = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(frames) == 12 and [f["frame"] for f in frames] == sorted(f["frame"] for f in frames)  # queue order
    assert {f["verdict"] for f in frames} == {"pass", "review", "fail"}
    first = frames[0]
    assert first["frame"] == f"{first['sku']}/{first['scene']}/{first['variant']}"
    assert Path(first["image"]).is_file() and Path(first["sidecar"]).is_file() and first["decision"] == "undecided"
    fails = [f for f in frames if f["verdict"] == "fail"]
    assert fails and all(f["reasons"] for f in fails)
    assert "12 of 12 frames listed" in res.stderr

    store = open_store(run)  # a decision made in the app shows in the list, and the filters apply
    try:
        store.decide(fails[0]["frame"], "rejected", "ana", "label cut")
    finally:
        store.close()
    res = runner.invoke(app, ["review", str(run), "--list", "--json", "--verdict", "fail", "--decision", "rejected"])
    got = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(g["frame"], g["decision"], g["decided_by"]) for g in got] == [(fails[0]["frame"], "rejected", "ana")]
    res = runner.invoke(app, ["review", str(run), "--list", "--decision", "undecided", "-q"])
    assert res.exit_code == 0 and res.stderr == ""
    assert fails[0]["frame"] not in res.stdout and frames[0]["frame"] in res.stdout  # the table
    assert runner.invoke(app, ["review", str(run), "--verdict", "fail"]).exit_code == 2  # filters need --list
    assert runner.invoke(app, ["review", str(run), "--list", "--verdict", "great"]).exit_code == 2


def test_credentials_init_and_show_json(tmp_path):
    folder = tmp_path / "creds"
    res = runner.invoke(app, ["credentials", "init", str(folder), "--json", "--tsa-url", "http://ts.example/tsa"])
    assert res.exit_code == 0, res.output
    (made,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert made["ok"] and made["alg"] == "es256" and made["development"] and made["tsa_url"] == "http://ts.example/tsa"
    assert [Path(f).name for f in made["files"]] == ["chain.pem", "key.pem", "dev-ca.pem", "credentials.json"]
    assert all(Path(f).is_file() for f in made["files"])
    assert "wrote" in res.stderr and "DEVELOPMENT CA" in res.stderr  # prose and the warning on stderr
    assert "PRIVATE KEY" not in res.stdout
    res = runner.invoke(app, ["credentials", "show", str(folder), "--json"])
    (shown,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert {k: v for k, v in shown.items()} == {k: v for k, v in made.items() if k != "files"}
    quiet = runner.invoke(app, ["credentials", "init", str(tmp_path / "q"), "-q"])
    assert quiet.exit_code == 0 and "wrote" not in quiet.stderr and "signer:" in quiet.stdout
    assert "DEVELOPMENT CA" in quiet.stderr  # a warning is not prose: kept with --quiet
    res = runner.invoke(app, ["credentials", "show", str(tmp_path / "nothing"), "--json"])
    assert res.exit_code == 2
    (bad,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert bad["ok"] is False and bad["folder"] == str(tmp_path / "nothing") and "nothing" in bad["error"]


def test_check_max_pixels(tmp_path):
    from packshot.export.compliance.check import check_image
    from packshot.errors import ImageTooLargeError
    from packshot.imaging import save_image
    from packshot.samples import make_product

    photo = tmp_path / "can.png"
    save_image(photo, make_product("can", seed=1, size=(64, 48), noise=0.0).image)
    with pytest.raises(ImageTooLargeError, match="can.png"):
        check_image(photo, "amazon-main", max_pixels=64 * 48 - 1)
    assert check_image(photo, "amazon-main", max_pixels=64 * 48).size == (64, 48)
    res = runner.invoke(app, ["check", str(photo), "-p", "amazon-main", "--max-pixels", "3000", "--json"])
    assert res.exit_code == 1
    (doc,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert doc["ok"] is False and doc["error"].startswith(f"{photo}: ") and doc["error"].count(str(photo)) == 1
    assert "over the limit" in doc["error"] and "can.png" in res.stderr
    res = runner.invoke(app, ["check", str(photo), "-p", "amazon-main", "--json"])  # the default lets it through
    (doc,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert doc["ok"] and doc["size"] == [64, 48]
    assert runner.invoke(app, ["check", str(photo), "-p", "amazon-main", "--max-pixels", "0"]).exit_code == 2


def test_check_goes_on_after_an_unexpected_error_in_one_image(tmp_path, monkeypatch):
    import packshot.export.compliance.check as check
    from packshot.imaging import save_image
    from packshot.samples import make_product

    for name in ("a.png", "b.png"):
        save_image(tmp_path / name, make_product("can", seed=1, size=(64, 48), noise=0.0).image)
    (tmp_path / "a_alpha.png").write_bytes((tmp_path / "a.png").read_bytes())  # a's size comes from its header
    real = check.check_image

    def flaky(image, *args, **kwargs):
        if Path(image).name == "a.png":
            raise RuntimeError("boom")
        return real(image, *args, **kwargs)

    monkeypatch.setattr(check, "check_image", flaky)
    res = runner.invoke(app, ["check", str(tmp_path), "-p", "amazon-main", "--json"])
    assert res.exit_code == 1
    docs = {Path(d["input"]).name: d for d in map(json.loads, res.stdout.splitlines())}
    assert docs["a.png"]["error"] == f"{tmp_path / 'a.png'}: RuntimeError: boom" and docs["b.png"]["ok"]


def test_check_of_a_folder_uses_the_alpha_sidecars_and_does_not_check_them(tmp_path):
    from packshot.imaging import save_gray, save_image
    from packshot.samples import make_product

    product = make_product("can", seed=1, size=(64, 48), noise=0.0)
    save_image(tmp_path / "deep" / "v0.png", product.image)
    save_gray(tmp_path / "deep" / "v0_alpha.png", product.mask)
    save_image(tmp_path / "lone_alpha.png", product.image)  # no lone.* beside it: an image like any other
    res = runner.invoke(app, ["check", str(tmp_path), "-p", "amazon-main", "--json"])
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert sorted(Path(d["input"]).name for d in docs) == ["lone_alpha.png", "v0.png"]
    v0 = next(d for d in docs if d["input"].endswith("v0.png"))
    assert v0["alpha"] == str(tmp_path / "deep" / "v0_alpha.png")
    given = runner.invoke(app, ["check", str(tmp_path / "deep" / "v0_alpha.png"), "-p", "amazon-main", "--json"])
    assert len(given.stdout.splitlines()) == 1  # a file named on the command line is always checked
