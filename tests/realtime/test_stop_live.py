"""Stopping the service (SIGTERM, as systemd, compose and Kubernetes do) while clients hold a
session's event stream and its frames open: the process exits promptly, and each client is told
why rather than left hanging (an event stream used to hold the process up for ever)."""

from __future__ import annotations

import signal
import subprocess
import time

import numpy as np
import pytest
from live_server import EventReader, LiveServer, viewer
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.timeout(300)

GRACE_S = 10.0
"""uvicorn's backstop (``timeout_graceful_shutdown``): a drain that works ends before it."""


def test_sigterm_with_open_streams_ends_them_with_a_reason_and_exits(
    tmp_path, astronaut: np.ndarray
):
    server = LiveServer(tmp_path, frame_workers="1", admission_missed_percent="100")
    try:
        ada = server.key("ada")
        character = server.character(ada, astronaut)
        response = server.http.post("/v1/sessions", headers=ada, json={"character_id": character})
        assert response.status_code == 201, response.text
        sid = response.json()["id"]
        events = EventReader(server, sid, ada)
        with viewer(server, sid, ada) as ws:
            ws.recv(timeout=30)
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=30)
            try:
                server.process.wait(GRACE_S + 20)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {GRACE_S + 20:g} s after SIGTERM: {server.log()[-1500:]}")
            took = time.monotonic() - started
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012, "service restart"
        assert events.ended.wait(5), "the event stream did not end"
        assert events.types()[-1] == "service_stopping", events.types()
        assert took < GRACE_S, f"exit took {took:.1f} s: the streams held the stop up"
        # uvicorn re-raises the signal it caught once it has shut down cleanly
        assert server.process.returncode in (0, -signal.SIGTERM), server.log()[-1500:]
        assert "service stopped" in server.log(), "the app's own shutdown did not run"
        events.stop()
    finally:
        server.stop()
