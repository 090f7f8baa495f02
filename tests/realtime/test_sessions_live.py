"""What a user of the running service sees when a session's loop is in trouble (issue 14): the
real ``visavis serve`` (uvicorn + uvloop, a frame worker process, the world model and renderer)
in its own process, driven over HTTP and WebSockets from this one.

Every failure either is recovered (a worker that stops reading for a moment; a viewer that
stops reading loses frames, not the session) or ends the session visibly: status ``failed``
with its error on the record, an ``error`` event, the WebSocket closed with 1011 and the
reason, a log line and a metric."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import numpy as np
import pytest
from live_server import EventReader, LiveServer, close_of, viewer

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("live_sessions"),
        frame_workers="1",
        viewer_stall_seconds="2",
        max_sessions="2",
        max_live_sessions_per_key="2",  # one key here opens both places (its default would be 1)
        admission_missed_percent="100",  # a busy test machine must not refuse these sessions
    )
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def ada(server: LiveServer) -> dict[str, str]:
    return server.key("ada")


@pytest.fixture(scope="module")
def character(server: LiveServer, ada: dict[str, str], astronaut: np.ndarray) -> str:
    return server.character(ada, astronaut)


def _session(server: LiveServer, headers: dict[str, str], character: str) -> str:
    response = server.http.post("/v1/sessions", headers=headers, json={"character_id": character})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _frames(server: LiveServer, sid: str, headers: dict[str, str], n: int) -> list[bytes]:
    with viewer(server, sid, headers) as ws:
        return [ws.recv(timeout=30) for _ in range(n)]


def test_a_refused_or_ended_stream_is_closed_with_a_code_that_says_why(
    server: LiveServer, ada: dict[str, str], character: str
):
    sid = _session(server, ada, character)
    assert close_of(server, sid, {})[0] == 4401
    assert close_of(server, sid, {"X-API-Key": "vv_not-a-key"})[0] == 4401
    assert close_of(server, "ses_missing", ada)[0] == 4404
    assert close_of(server, sid, server.key("bob"))[0] == 4404, "another key's session"
    with viewer(server, sid, ada) as first:
        first.recv(timeout=30)
        code, reason = close_of(server, sid, ada)
        assert (code, reason) == (4409, "another viewer is attached")
        server.http.post(f"/v1/sessions/{sid}/close", headers=ada)
        from websockets.exceptions import ConnectionClosed

        with pytest.raises(ConnectionClosed) as ended:
            while True:
                first.recv(timeout=30)
        assert ended.value.rcvd is not None
        assert (ended.value.rcvd.code, ended.value.rcvd.reason) == (1000, "session closed")
    code, reason = close_of(server, sid, ada)
    assert code == 4409 and "closed; resume it first" in reason


def test_an_unknown_gesture_is_refused_before_it_reaches_the_loop(
    server: LiveServer, ada: dict[str, str], character: str
):
    sid = _session(server, ada, character)
    # "0" killed a loop in the api branch's full fuzz (schemathesis); "none" is the model's
    # no-event index 0, not a gesture
    for gesture in ("explode", "0", "none", " nod"):
        refused = server.http.post(
            f"/v1/sessions/{sid}/trigger", headers=ada, json={"gesture": gesture}
        )
        assert refused.status_code == 422, (gesture, refused.text)
        message = refused.json()["error"]["message"]
        assert f"unknown gesture {gesture!r}; known: nod, shake, smile, surprise, frown" in message
    assert (
        server.http.post(
            f"/v1/sessions/{sid}/trigger", headers=ada, json={"gesture": "nod"}
        ).status_code
        == 204
    )
    assert len(_frames(server, sid, ada, 30)) == 30, "the loop lives on"
    assert server.http.get(f"/v1/sessions/{sid}", headers=ada).json()["status"] == "open"
    server.http.post(f"/v1/sessions/{sid}/close", headers=ada)


def test_a_killed_frame_worker_ends_its_session_visibly(
    server: LiveServer, ada: dict[str, str], character: str
):
    sid = _session(server, ada, character)
    before = server.metric("visavis_realtime_session_failures_total", 'cause="worker_exited"')
    events = EventReader(server, sid, ada)
    from websockets.exceptions import ConnectionClosed

    with viewer(server, sid, ada) as ws:
        ws.recv(timeout=30)
        (pid,) = server.worker_pids()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ConnectionClosed) as ended:
            while True:
                ws.recv(timeout=30)
    assert ended.value.rcvd is not None
    assert ended.value.rcvd.code == 1011
    assert f"(pid {pid}) exited with code -9" in ended.value.rcvd.reason
    assert events.ended.wait(10), "the events stream ends with the session"
    error = [event for event in events.events if event["type"] == "error"]
    assert len(error) == 1 and error[0]["cause"] == "worker_exited"
    assert f"pid {pid}" in error[0]["reason"]
    events.stop()
    record = _wait_status(server, sid, ada, "failed")
    assert f"pid {pid}" in record["error"]
    refused = server.http.post(f"/v1/sessions/{sid}/speak", headers=ada, json={"text": "hi"})
    assert refused.status_code == 409 and "failed" in refused.json()["error"]["message"]
    after = server.metric("visavis_realtime_session_failures_total", 'cause="worker_exited"')
    assert after == before + 1
    assert "session failed cause=worker_exited" in server.log()
    resumed = server.http.post(f"/v1/sessions/{sid}/resume", headers=ada)
    assert resumed.status_code == 200 and resumed.json()["status"] == "open"
    assert resumed.json()["error"] is None
    assert len(_frames(server, sid, ada, 10)) == 10, "a new worker runs it"
    server.http.post(f"/v1/sessions/{sid}/close", headers=ada)


def _wait_status(server: LiveServer, sid: str, headers: dict[str, str], want: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        record = server.http.get(f"/v1/sessions/{sid}", headers=headers).json()
        if record["status"] == want or time.monotonic() > deadline:
            assert record["status"] == want, record
            return dict(record)
        time.sleep(0.1)


def test_a_frame_worker_that_stops_reading_for_a_moment_is_waited_out(
    server: LiveServer, ada: dict[str, str], character: str
):
    """Two sessions on the one worker, speech pushed, the worker stopped for 3 s (its pipe
    fills: the sessions' steps wait), then let go: both sessions go on, no error."""
    sids = [_session(server, ada, character) for _ in range(2)]
    events = [EventReader(server, sid, ada) for sid in sids]
    pcm = (np.sin(np.arange(16_000) / 6) * 8000).astype("<i2").tobytes()
    for sid in sids:
        pushed = server.http.post(
            f"/v1/sessions/{sid}/audio", headers={**ada, "Content-Type": "audio/L16"}, content=pcm
        )
        assert pushed.status_code == 200
    (pid,) = server.worker_pids()
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(3.0)
    finally:
        os.kill(pid, signal.SIGCONT)
    for sid in sids:
        assert len(_frames(server, sid, ada, 25)) == 25
        assert server.http.get(f"/v1/sessions/{sid}", headers=ada).json()["status"] == "open"
    assert server.worker_pids() == [pid], "the worker was not replaced"
    for sid, reader in zip(sids, events, strict=True):
        server.http.post(f"/v1/sessions/{sid}/close", headers=ada)
        assert reader.ended.wait(10)
        assert "error" not in reader.types(), reader.events
        reader.stop()


def test_a_viewer_that_never_reads_loses_frames_not_the_session(
    server: LiveServer, ada: dict[str, str], character: str
):
    """A client that opens the stream and never reads (a raw socket with a tiny receive
    buffer): the session keeps its clock, the viewer is closed after the stall limit (2 s
    here) and the next viewer gets frames at once."""
    import base64
    import socket

    sid = _session(server, ada, character)
    dropped = server.metric("visavis_realtime_viewers_dropped_total")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    stuck.sendall(
        (
            f"GET /v1/sessions/{sid}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"X-API-Key: {ada['X-API-Key']}\r\n\r\n"
        ).encode()
    )
    assert b" 101 " in stuck.recv(1024).split(b"\r\n", 1)[0]
    try:
        frames_before = server.http.get(f"/v1/sessions/{sid}", headers=ada).json()
        deadline = time.monotonic() + 60
        while server.metric("visavis_realtime_viewers_dropped_total") == dropped:
            assert time.monotonic() < deadline, "the stuck viewer was never dropped"
            time.sleep(0.25)
        info = server.http.get(f"/v1/sessions/{sid}", headers=ada).json()
        assert info["status"] == "open"
        assert info["stats"]["frames"] > frames_before["stats"]["frames"] + 25
        assert len(_frames(server, sid, ada, 10)) == 10, "the next viewer is served"
    finally:
        stuck.close()
    server.http.post(f"/v1/sessions/{sid}/close", headers=ada)


def test_past_capacity_a_new_session_is_refused_with_retry_after(
    server: LiveServer, ada: dict[str, str], character: str
):
    """VISAVIS_MAX_SESSIONS=2 here: the third is refused (503, Retry-After), not let in to make
    the two miss; its refusal leaves no session row behind; a freed place is taken again."""
    sids = [_session(server, ada, character) for _ in range(2)]
    listed = len(server.http.get("/v1/sessions", headers=ada).json())
    refused = server.http.post("/v1/sessions", headers=ada, json={"character_id": character})
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "30"
    assert "2 sessions are live" in refused.json()["error"]["message"]
    assert len(server.http.get("/v1/sessions", headers=ada).json()) == listed
    assert server.metric("visavis_realtime_sessions_refused_total", 'reason="full"') >= 1
    server.http.post(f"/v1/sessions/{sids[0]}/close", headers=ada)
    again = server.http.post(f"/v1/sessions/{sids[0]}/resume", headers=ada)
    assert again.status_code == 200 and again.json()["status"] == "open"
    for sid in sids:
        server.http.post(f"/v1/sessions/{sid}/close", headers=ada)
