"""Sessions through the API's key rules: a per-key live-session quota (one key cannot take every
slot), publishable keys (their characters, their own sessions, their origins, the WebSocket
too), and audio bodies checked before they reach a session."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from service.main import create_app
    from service.settings import Settings

    # admission_missed_percent=100: these sessions render on the test's own threads, which a
    # busy machine makes miss frames; refusing the next one for it (503) is not what this tests
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("keys_sessions")), frame_workers=0,
                        warm_frame_workers=False, max_live_sessions_per_key=1,
                        admission_missed_percent=100)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def owner(app_client: TestClient, astronaut: np.ndarray) -> dict[str, str]:
    from PIL import Image

    db = app_client.app.state.db  # type: ignore[attr-defined]
    secret = {"X-API-Key": db.keys.create("olga")}
    ids = []
    for image in (astronaut, astronaut[:, ::-1].copy()):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        made = app_client.post("/v1/characters", headers=secret,
                               files={"image": ("a.png", buffer.getvalue(), "image/png")})  # fmt: skip
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    pk = app_client.post("/v1/keys", headers=secret, json={
        "scope": "publishable", "origins": ["http://page.example:8080"],
        "character_ids": [ids[0]]}).json()["api_key"]  # fmt: skip
    return {"secret": secret["X-API-Key"], "pk": pk, "allowed": ids[0], "other": ids[1]}


def _wav(seconds: float, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        t = np.arange(int(seconds * rate)) / rate
        fh.writeframes((np.sin(2 * np.pi * 220 * t) * 9000).astype("<i2").tobytes())
    return buffer.getvalue()


def test_one_key_cannot_take_every_slot(app_client: TestClient, owner) -> None:
    secret = {"X-API-Key": owner["secret"]}
    other = {"X-API-Key": app_client.app.state.db.keys.create("olga")}  # type: ignore[attr-defined]
    body = {"character_id": owner["allowed"]}
    first = app_client.post("/v1/sessions", headers=secret, json=body)
    assert first.status_code == 201, first.text
    refused = app_client.post("/v1/sessions", headers=secret, json=body)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert "VISAVIS_MAX_LIVE_SESSIONS_PER_KEY=1" in refused.json()["error"]["message"]
    assert int(refused.headers["Retry-After"]) > 0
    listed = app_client.get("/v1/sessions", headers=secret).json()["data"]
    assert [s["id"] for s in listed] == [first.json()["id"]]  # the refused one left no row
    second = app_client.post("/v1/sessions", headers=other, json=body)  # same owner, other key
    assert second.status_code == 201
    for made, key in ((first, secret), (second, other)):
        app_client.post(f"/v1/sessions/{made.json()['id']}/close", headers=key)
    again = app_client.post("/v1/sessions", headers=secret, json=body)  # closing frees the slot
    assert again.status_code == 201
    app_client.post(f"/v1/sessions/{again.json()['id']}/close", headers=secret)


def test_audio_bodies_are_checked(app_client: TestClient, owner) -> None:
    secret = {"X-API-Key": owner["secret"]}
    sid = app_client.post("/v1/sessions", headers=secret,
                          json={"character_id": owner["allowed"]}).json()["id"]  # fmt: skip
    pcm = {**secret, "Content-Type": "audio/L16"}
    try:
        odd = app_client.post(f"/v1/sessions/{sid}/audio", headers=pcm, content=b"\x00" * 641)
        assert odd.status_code == 422
        assert "641 bytes" in odd.json()["error"]["message"]
        stereo = app_client.post(f"/v1/sessions/{sid}/audio?channels=2", headers=pcm,
                                 content=b"\x00" * 642)  # fmt: skip
        assert stereo.status_code == 422 and "2 channel" in stereo.json()["error"]["message"]
        # a WAV file sent as raw PCM is recognised and decoded, not played as noise
        as_pcm = app_client.post(f"/v1/sessions/{sid}/audio", headers=pcm, content=_wav(0.4))
        assert as_pcm.status_code == 200, as_pcm.text
        assert 0.35 < as_pcm.json()["queued_seconds"] <= 0.45
        app_client.post(f"/v1/sessions/{sid}/interrupt", headers=secret)
        # the partner stream is raw PCM only: a file there is refused, saying so
        partner = app_client.post(f"/v1/sessions/{sid}/partner-audio", headers=pcm,
                                  content=_wav(0.2))  # fmt: skip
        assert partner.status_code == 422 and "wav file" in partner.json()["error"]["message"]
    finally:
        app_client.post(f"/v1/sessions/{sid}/close", headers=secret)


def test_publishable_key_drives_only_its_own_sessions(app_client: TestClient, owner) -> None:
    page = {"X-API-Key": owner["pk"], "Origin": "http://page.example:8080"}
    secret = {"X-API-Key": owner["secret"]}
    assert app_client.post("/v1/sessions", headers=page,
                           json={"character_id": owner["other"]}).status_code == 404  # fmt: skip
    made = app_client.post("/v1/sessions", headers=page, json={"character_id": owner["allowed"]})
    assert made.status_code == 201, made.text
    assert made.headers["access-control-allow-origin"] == "http://page.example:8080"
    sid = made.json()["id"]
    other_key = {"X-API-Key": app_client.app.state.db.keys.create("olga")}  # type: ignore[attr-defined]
    made_theirs = app_client.post("/v1/sessions", headers=other_key,
                                  json={"character_id": owner["allowed"]})  # fmt: skip
    assert made_theirs.status_code == 201, made_theirs.text
    theirs = made_theirs.json()["id"]
    try:
        spoken = app_client.post(f"/v1/sessions/{sid}/speak", headers=page, json={"text": "Hi."})
        assert spoken.status_code == 200
        assert app_client.get(f"/v1/sessions/{sid}", headers=secret).status_code == 200
        assert app_client.get(f"/v1/sessions/{theirs}", headers=page).status_code == 404
        assert app_client.get("/v1/sessions", headers=page).status_code == 403
        subprotocols = ["visavis", "visavis.key." + owner["pk"]]
        with app_client.websocket_connect(f"/v1/sessions/{sid}/stream", subprotocols=subprotocols,
                                          headers={"Origin": "http://page.example:8080"}) as ws:  # fmt: skip
            assert len(ws.receive_bytes()) > 1000
        with (
            pytest.raises(WebSocketDisconnect),
            app_client.websocket_connect(f"/v1/sessions/{sid}/stream", subprotocols=subprotocols,
                                         headers={"Origin": "http://evil.example"}) as ws,  # fmt: skip
        ):
            ws.receive_bytes()
    finally:
        app_client.post(f"/v1/sessions/{sid}/close", headers=page)
        app_client.post(f"/v1/sessions/{theirs}/close", headers=secret)
