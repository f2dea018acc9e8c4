"""One retry layer for uploads: packshot's RetryPolicy. s3fs's loop and botocore's retries are
switched off for destinations packshot opens, so a failing upload is tried exactly
``RetryPolicy.attempts`` times (they multiplied: 4 x 5 x 5 requests)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("s3fs")

from packshot.export.delivery.routing import Destination, DestinationError, RetryPolicy  # noqa: E402

SLOW_DOWN = (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
             b"<Message>Please reduce your request rate.</Message></Error>")


class _Overloaded(BaseHTTPRequestHandler):
    """An S3 endpoint that answers every request 503 SlowDown (retryable for every layer)."""

    def _answer(self):
        self.server.requests.append((self.command, self.path))
        # the body is not read (a PUT may wait for "100 Continue" first): answer and close
        self.close_connection = True
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(SLOW_DOWN)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(SLOW_DOWN)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture()
def overloaded_s3():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Overloaded)
    server.requests = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _options(server, **extra):
    return {"endpoint_url": f"http://127.0.0.1:{server.server_address[1]}", "key": "test", "secret": "test",
            "client_kwargs": {"region_name": "us-east-1"}, "skip_instance_cache": True, **extra}


def test_a_failing_s3_upload_is_tried_exactly_as_the_policy_says(overloaded_s3):
    sleeps = []
    dest = Destination("s3://bucket/out", storage_options=_options(overloaded_s3),
                       retry=RetryPolicy(attempts=3, base_delay=0.01, seed=1), sleep=sleeps.append)
    with pytest.raises(DestinationError, match="after 3 tries"):
        dest.put("a.jpg", b"x" * 100)
    puts = [r for r in overloaded_s3.requests if r[0] == "PUT"]
    assert len(puts) == 3, overloaded_s3.requests  # not 3 x s3fs's 5 x botocore's attempts
    assert len(sleeps) == 2


def test_the_callers_own_botocore_retries_are_kept(overloaded_s3):
    options = _options(overloaded_s3, config_kwargs={"retries": {"total_max_attempts": 2}})
    dest = Destination("s3://bucket/out", storage_options=options, retry=RetryPolicy(attempts=1), sleep=lambda s: None)
    with pytest.raises(DestinationError):
        dest.put("a.jpg", b"x")
    assert len([r for r in overloaded_s3.requests if r[0] == "PUT"]) == 2  # asked for: 2 botocore attempts
