"""Webhooks: a clip's and a session's events reach a registered URL, signed with the webhook's
secret; a failing receiver is retried with backoff; the delivery log shows every attempt."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings
from service.webhooks import SIGNATURE_HEADER, verify
from tests.service.conftest import png_bytes


class Receiver:
    """A local HTTP endpoint that fails its first ``failures`` requests with 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = 500 if len(receiver.received) < receiver.failures else 204
                receiver.received.append((dict(self.headers), body, code))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(failures=1)
    yield running
    running.close()


def _wait(condition: Any, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_clip_and_session_events_are_delivered_signed_and_retried(
    tmp_path: Path, receiver: Receiver, astronaut: np.ndarray
) -> None:
    settings = Settings(data_dir=tmp_path, frame_workers=0, warm_frame_workers=False,
                        webhook_retry_base_s=0.3)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        key = {"X-API-Key": client.app.state.db.keys.create("wes")}  # type: ignore[attr-defined]
        bad = client.post("/v1/webhooks", headers=key, json={"url": "ftp://x", "events": ["clip.done"]})
        assert bad.status_code == 422 and "url" in bad.json()["error"]["message"]
        made = client.post("/v1/webhooks", headers=key, json={
            "url": receiver.url, "events": ["clip.done", "clip.failed", "session.opened",
                                            "session.closed"]})  # fmt: skip
        assert made.status_code == 201, made.text
        hook = made.json()
        assert hook["secret"].startswith("whsec_")
        assert "secret" not in client.get(f"/v1/webhooks/{hook['id']}", headers=key).json()

        character = client.post("/v1/characters", headers=key, files={
            "image": ("a.png", png_bytes(astronaut), "image/png")}).json()["id"]  # fmt: skip
        clip = client.post("/v1/clips", headers=key,
                           data={"character_id": character, "text": "Hi."}).json()  # fmt: skip
        session = client.post("/v1/sessions", headers=key, json={"character_id": character}).json()
        client.post(f"/v1/sessions/{session['id']}/close", headers=key)

        log_url = f"/v1/webhooks/{hook['id']}/deliveries"

        def settled() -> bool:
            log = client.get(log_url, headers=key).json()["data"]
            return len(log) == 3 and all(d["status"] != "pending" for d in log)

        _wait(settled)
        log = client.get(log_url, headers=key).json()["data"]
        assert {d["event"] for d in log} == {"clip.done", "session.opened", "session.closed"}
        assert all(d["status"] == "delivered" for d in log)
        assert sum(d["attempts"] for d in log) == 4  # the first attempt of all was refused
        assert max(d["attempts"] for d in log) == 2
        retried = next(d for d in log if d["attempts"] == 2)
        assert retried["last_status"] == 204 and retried["finished"].endswith("Z")

    delivered = [(h, b) for h, b, code in receiver.received if code == 204]
    events = {json.loads(b)["type"]: json.loads(b) for _, b in delivered}
    assert events["clip.done"]["data"]["id"] == clip["id"]
    assert events["clip.done"]["data"]["frames"] > 0
    assert events["session.closed"]["data"]["id"] == session["id"]
    for headers, body in delivered:
        assert verify(hook["secret"], headers[SIGNATURE_HEADER], body)
        assert not verify(hook["secret"], headers[SIGNATURE_HEADER], body + b" ")
        assert not verify("whsec_other", headers[SIGNATURE_HEADER], body)
