"""The sessions REST API on the real app: a stored character, the real renderer and TTS."""

from __future__ import annotations

import asyncio
import io
import json
import time
import wave

import numpy as np
import pytest
from fastapi.testclient import TestClient
from realtime_fakes import PaintRenderer, PeakLookaheadStream

from service.realtime.parts import SessionParts, SessionSpec


def wav(seconds: float, rate: int = 22_050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.4 * np.sin(2 * np.pi * 200 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(pcm.tobytes())
    return buffer.getvalue()


def test_session_lifecycle_speech_and_interrupt(client: TestClient, alice, character_id):
    created = client.post(
        "/v1/sessions",
        headers=alice,
        json={"character_id": character_id, "seed": 7, "persona": {"smile": 0.8}},
    )
    assert created.status_code == 201, created.text
    session = created.json()
    sid = session["id"]
    assert session["status"] == "open" and session["options"]["seed"] == 7

    pcm = (np.sin(np.arange(24_000) / 8) * 9000).astype("<i2").tobytes()  # 1 s at 24 kHz
    pushed = client.post(
        f"/v1/sessions/{sid}/audio?sample_rate=24000&channels=1",
        headers={**alice, "Content-Type": "audio/L16"},
        content=pcm,
    )
    assert pushed.status_code == 200, pushed.text
    assert 0.5 < pushed.json()["queued_seconds"] <= 1.0

    spoken = client.post(
        f"/v1/sessions/{sid}/speak", headers=alice, json={"text": "Hello there, how are you today?"}
    )
    assert spoken.status_code == 200, spoken.text
    assert spoken.json()["queued_seconds"] > 1.0

    time.sleep(0.5)
    position = client.post(f"/v1/sessions/{sid}/interrupt", headers=alice).json()["position"]
    assert 0.1 < position < 1.0
    info = client.get(f"/v1/sessions/{sid}", headers=alice).json()
    assert info["stats"]["queued_seconds"] == 0
    assert info["stats"]["frames"] > 5

    file_push = client.post(
        f"/v1/sessions/{sid}/audio",
        headers={**alice, "Content-Type": "audio/wav"},
        content=wav(0.4),
    )
    assert file_push.status_code == 200 and file_push.json()["queued_seconds"] > 0.3

    assert (
        client.post(
            f"/v1/sessions/{sid}/trigger", headers=alice, json={"gesture": "nod"}
        ).status_code
        == 204
    )

    closed = client.post(f"/v1/sessions/{sid}/close", headers=alice)
    assert closed.json()["status"] == "closed"
    refused = client.post(f"/v1/sessions/{sid}/speak", headers=alice, json={"text": "hi"})
    assert refused.status_code == 409 and "resume" in refused.json()["error"]["message"]

    resumed = client.post(f"/v1/sessions/{sid}/resume", headers=alice)
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "open"
    assert resumed.json()["options"] == {"size": "512", "seed": 7, "persona": {"smile": 0.8},
                                         "fit": "cover"}  # the character's fit, kept
    assert resumed.json()["character_id"] == character_id
    client.post(f"/v1/sessions/{sid}/close", headers=alice)


def test_events_stream_reports_playback(client: TestClient, alice, character_id):
    sid = client.post("/v1/sessions", headers=alice, json={"character_id": character_id}).json()[
        "id"
    ]
    pcm = (np.sin(np.arange(4_000) / 5) * 9000).astype("<i2").tobytes()  # 0.25 s at 16 kHz
    seen: list[dict] = []
    with client.stream("GET", f"/v1/sessions/{sid}/events", headers=alice) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines).startswith("event: state")
        client.post(
            f"/v1/sessions/{sid}/audio", headers={**alice, "Content-Type": "audio/L16"}, content=pcm
        )
        for line in lines:
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                if seen[-1]["type"] == "playback_finished":
                    break
        client.post(f"/v1/sessions/{sid}/close", headers=alice)
    kinds = [e["type"] for e in seen]
    assert "playback_started" in kinds
    finished = seen[-1]
    assert finished["interrupted"] is False
    assert abs(finished["position"] - 0.25) < 0.01


def test_sessions_belong_to_their_key_and_bad_input_is_named(client, alice, bob, character_id):
    sid = client.post("/v1/sessions", headers=alice, json={"character_id": character_id}).json()[
        "id"
    ]
    assert client.get(f"/v1/sessions/{sid}", headers=bob).status_code == 404
    assert client.post(f"/v1/sessions/{sid}/interrupt", headers=bob).status_code == 404
    assert (
        client.post("/v1/sessions", headers=bob, json={"character_id": character_id}).status_code
        == 404
    )
    assert client.get(f"/v1/sessions/{sid}").status_code == 401

    odd = client.post(
        f"/v1/sessions/{sid}/audio",
        headers={**alice, "Content-Type": "audio/wav"},
        content=b"not audio",
    )
    assert odd.status_code == 422 and "audio" in odd.json()["error"]["message"]
    empty = client.post(
        f"/v1/sessions/{sid}/audio", headers={**alice, "Content-Type": "audio/L16"}, content=b""
    )
    assert empty.status_code == 422
    bad_rate = client.post(
        f"/v1/sessions/{sid}/audio?sample_rate=5",
        headers={**alice, "Content-Type": "audio/L16"},
        content=b"\0\0",
    )
    assert bad_rate.status_code == 422
    assert (
        client.post(f"/v1/sessions/{sid}/trigger", headers=alice, json={"gesture": ""}).status_code
        == 422
    )
    odd_persona = {"character_id": character_id, "persona": {"swagger": 0.5}}
    refused = client.post("/v1/sessions", headers=alice, json=odd_persona)
    assert refused.status_code == 422 and "unknown persona trait 'swagger'" in refused.text
    client.post(f"/v1/sessions/{sid}/close", headers=alice)


async def test_idle_sessions_are_closed_and_stay_resumable(client: TestClient, character_id):
    from service.realtime.factory import SessionFactory
    from service.realtime.manager import SessionManager

    app_state = client.app.state  # type: ignore[attr-defined]
    factory = SessionFactory(workers=0)  # on threads here: this is about closing, not frames
    manager = SessionManager(
        records=app_state.sessions.records,
        store=app_state.store,
        factory=factory,
        idle_close_s=0.4,
    )
    record = manager.records.insert(
        owner="alice", character_id=character_id, options={"size": "512"}
    )
    await manager.open(record)
    manager.start()
    await asyncio.sleep(1.0)
    assert manager.live(record.id) is None, "an idle session kept running"
    assert manager.records.get(record.id, owner="alice").status == "closed"
    await manager.aclose()
    await factory.aclose()


def test_stream_sends_each_frame_with_its_audio(client: TestClient, alice, bob, character_id):
    import struct

    import cv2
    from starlette.websockets import WebSocketDisconnect

    sid = client.post("/v1/sessions", headers=alice, json={"character_id": character_id}).json()[
        "id"
    ]
    pcm = (np.sin(np.arange(3_200) / 4) * 12000).astype("<i2").tobytes()  # 0.2 s at 16 kHz
    messages = []
    with client.websocket_connect(f"/v1/sessions/{sid}/stream", headers=alice) as ws:
        for _ in range(3):
            messages.append(ws.receive_bytes())
        client.post(
            f"/v1/sessions/{sid}/audio", headers={**alice, "Content-Type": "audio/L16"}, content=pcm
        )
        for _ in range(15):
            messages.append(ws.receive_bytes())
    frames = []
    for message in messages:
        header_len, jpeg_len = struct.unpack("<II", message[:8])
        header = json.loads(message[8 : 8 + header_len])
        jpeg = np.frombuffer(message[8 + header_len : 8 + header_len + jpeg_len], np.uint8)
        audio = np.frombuffer(message[8 + header_len + jpeg_len :], "<i2")
        picture = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
        assert picture.shape == (512, 512, 3) and audio.shape == (640,)
        frames.append((header, audio))
    indices = [h["index"] for h, _ in frames]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    spoken = [a for h, a in frames if h["speech"]]
    assert len(spoken) == 5, "0.2 s of speech is 5 frames"
    assert all(np.abs(a).max() > 10000 for a in spoken)
    assert all(not a.any() for h, a in frames if not h["speech"])

    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"/v1/sessions/{sid}/stream", headers=bob) as ws,
    ):
        ws.receive_bytes()
    assert refused.value.code == 4404
    client.post(f"/v1/sessions/{sid}/close", headers=alice)


def test_metrics_count_session_frames(client: TestClient, alice, character_id):
    sid = client.post("/v1/sessions", headers=alice, json={"character_id": character_id}).json()[
        "id"
    ]
    time.sleep(0.3)
    text = client.get("/metrics").text
    client.post(f"/v1/sessions/{sid}/close", headers=alice)
    frames = [
        line for line in text.splitlines() if line.startswith("visavis_realtime_frames_total")
    ]
    assert frames and float(frames[0].split()[-1]) > 0
    assert "visavis_realtime_sessions" in text and "visavis_livekit_workers" in text


async def test_closing_stops_the_sessions_and_their_frame_workers(
    client: TestClient, character_id
):
    import os

    from service.realtime.factory import SessionFactory
    from service.realtime.manager import SessionManager

    app_state = client.app.state  # type: ignore[attr-defined]
    factory = SessionFactory(workers=1)
    manager = SessionManager(
        records=app_state.sessions.records, store=app_state.store, factory=factory
    )
    record = manager.records.insert(owner="alice", character_id=character_id, options={})
    live = await manager.open(record)
    frames = []
    async for frame in live.session.frames():
        frames.append(frame)
        if len(frames) == 3:
            break
    assert frames[-1].video.shape == (512, 512, 3)
    assert factory.pool is not None
    pids = factory.pool.pids
    assert pids and os.getpid() not in pids, "the session's frames came from this process"
    await manager.aclose()  # with the session still live
    assert live.session.closed
    await factory.aclose()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert manager.records.get(record.id, owner="alice").status == "closed"


class _BrokenRenderer(PaintRenderer):
    def render(self, motion: np.ndarray) -> np.ndarray:
        raise ValueError("rig is corrupt")


def _broken_parts(spec: SessionSpec) -> SessionParts:
    """Parts whose renderer raises on the first picture: the session's loop fails."""
    return SessionParts(motion=PeakLookaheadStream(0), renderer=_BrokenRenderer())


async def test_a_failed_session_is_stored_and_its_webhook_event_queued(
    client: TestClient, character_id
):
    """The manager takes a failed session out of the live ones, stores its error and tells
    ``on_status``; the service's hook (``session_events``) makes it a ``session.failed``
    webhook event carrying the error."""
    from service.realtime.factory import SessionFactory
    from service.realtime.failure import SessionFailedError
    from service.realtime.manager import SessionManager
    from service.routers.sessions import session_events

    app_state = client.app.state  # type: ignore[attr-defined]
    db = app_state.db
    hook = db.webhooks.create(owner="alice", url="http://127.0.0.1:9/hook",
                              events=["session.failed"])  # fmt: skip
    factory = SessionFactory(workers=0, build=_broken_parts)
    manager = SessionManager(records=app_state.sessions.records, store=app_state.store,
                             factory=factory, on_status=session_events(db))  # fmt: skip
    record = manager.records.insert(owner="alice", character_id=character_id, options={})
    live = await manager.open(record)
    with pytest.raises(SessionFailedError, match="rig is corrupt"):
        async for _ in live.session.frames():
            pass
    deadline = time.monotonic() + 10
    while not db.webhooks.deliveries(hook.id, limit=10).items:
        assert time.monotonic() < deadline, "no session.failed event"
        await asyncio.sleep(0.05)
    stored = manager.records.get(record.id, owner="alice")
    assert stored.status == "failed" and stored.error == "ValueError: rig is corrupt"
    assert manager.live(record.id) is None
    (delivery,) = db.webhooks.deliveries(hook.id, limit=10).items
    assert delivery.event == "session.failed"
    assert json.loads(delivery.payload)["data"] == {
        "id": record.id, "character_id": character_id, "status": "failed",
        "error": "ValueError: rig is corrupt",
    }  # fmt: skip
    await manager.aclose()
    await factory.aclose()
    assert manager.records.get(record.id, owner="alice").status == "failed"  # closing keeps it
