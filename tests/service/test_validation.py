"""Bad input is a 422 naming what is wrong (never a 500 or a dropped connection), and a damaged
stored character a 409 naming it and its damage, on every route that loads it."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from audio.sniff import audio_container
from service.main import create_app
from service.settings import Settings
from tests.service.conftest import png_bytes


@pytest.mark.parametrize(
    "body",
    [
        b'{"character_id": NaN}',
        b'{"character_id": "ch_x", "seed": Infinity}',
        b'{"character_id": "ch_x", "seed": -Infinity}',
        b'{"character_id": "ch_x", "persona": {"smile": NaN}}',
        b'{"character_id": "ch_x", "persona": {"smile": 1e999}}',
        b'{"character_id": "\\ud800"}',
        b'{"character_id": "ch_x", "persona": {"\\udfff": 0.5}}',
        b'{"character_id": "\xed\xa0\x80"}',  # a surrogate encoded in the bytes themselves
        b'{"character_id": "ch_x"' + b', "x": [' * 200 + b"]" * 200 + b"}",
    ],
)
def test_json_that_json_does_not_allow_is_422(client: TestClient, alice, body: bytes) -> None:
    response = client.post(
        "/v1/sessions", headers={**alice, "Content-Type": "application/json"}, content=body
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["message"].startswith("body")


def test_non_finite_numbers_are_refused_on_every_json_route(client: TestClient, alice) -> None:
    for path, body in (
        ("/v1/sessions/ses_x/speak", b'{"text": NaN}'),
        ("/v1/sessions/ses_x/trigger", b'{"gesture": Infinity}'),
        ("/v1/keys", b'{"owner": NaN}'),
        ("/v1/livekit/dispatch", b'{"room": "r", "url": "wss://x", "character_id": "c", "seed": NaN}'),
    ):
        response = client.post(path, headers={**alice, "Content-Type": "application/json"},
                               content=body)  # fmt: skip
        assert response.status_code == 422, (path, response.text)
        assert "finite" in response.json()["error"]["message"]


def test_every_error_has_one_shape(client: TestClient, alice) -> None:
    cases = [
        client.get("/v1/nowhere", headers=alice),  # unknown route
        client.get("/nowhere"),
        client.get("/v1/clips/clp_nothing", headers=alice),
        client.get("/v1/clips"),  # no key
        client.get("/v1/clips?limit=0", headers=alice),
        client.get("/v1/clips?cursor=%%%", headers=alice),
        client.put("/v1/clips", headers=alice),  # method not allowed
    ]
    for response in cases:
        assert response.status_code >= 400
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
        assert body["error"]["message"]


def _wav(seconds: float, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(np.zeros(int(seconds * rate), "<i2").tobytes())
    return buffer.getvalue()


def test_audio_files_are_recognised_by_their_first_bytes() -> None:
    assert audio_container(_wav(0.1)) == "wav"
    assert audio_container(b"ID3\x04\x00" + bytes(100)) == "mp3"
    assert audio_container(b"OggS" + bytes(100)) == "ogg"
    # MPEG-1 layer III, 128 kb/s, 44.1 kHz: 417-byte frames, then the next header
    frame = b"\xff\xfb\x90\x00" + bytes(413)
    assert audio_container(frame + frame) == "mp3"
    # raw PCM that happens to begin like a frame header is still PCM
    pcm = (np.sin(np.arange(4000) / 5) * 9000).astype("<i2").tobytes()
    assert audio_container(b"\xff\xfb\x90\x00" + pcm) is None
    assert audio_container(pcm) is None


def test_a_damaged_character_is_409_naming_it_on_every_route(tmp_path: Path,
                                                             astronaut: np.ndarray) -> None:
    settings = Settings(data_dir=tmp_path, admin_key=SecretStr("admin-key-for-damage-0123"),
                        frame_workers=0, warm_frame_workers=False)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        key = {"X-API-Key": client.app.state.db.keys.create("dana")}  # type: ignore[attr-defined]
        made = client.post("/v1/characters", headers=key, data={"name": "d"},
                           files={"image": ("a.png", png_bytes(astronaut), "image/png")})
        character_id = made.json()["id"]
    (tmp_path / "characters" / character_id / "rig.npz").write_bytes(b"not a rig")
    with TestClient(create_app(settings)) as client:  # a restart: nothing cached
        dispatch = {"room": "r", "url": "wss://lk.example", "character_id": character_id,
                    "token": "t"}  # fmt: skip
        for method, path, kwargs in (
            ("POST", "/v1/sessions", {"json": {"character_id": character_id}}),
            ("GET", f"/v1/characters/{character_id}/preview", {}),
            ("POST", "/v1/clips", {"data": {"character_id": character_id, "text": "Hi."}}),
            ("POST", "/v1/livekit/dispatch", {"json": dispatch}),
        ):
            response = client.request(method, path, headers=key, **kwargs)
            assert response.status_code == 409, (path, response.text)
            error = response.json()["error"]
            assert error["code"] == "character_damaged"
            assert character_id in error["message"] and "rig.npz" in error["message"]
            assert str(tmp_path) not in error["message"]  # no server paths
        sessions = client.app.state.db.sessions.list(owner="dana")  # type: ignore[attr-defined]
        assert sessions.items == []  # no row left behind by the refused creation
