"""The live demo page: served with its key, and the session stream a browser can open."""

from __future__ import annotations

import json
import struct

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect


def _key(headers: dict[str, str]) -> str:
    return headers["X-API-Key"]


def test_a_browser_authenticates_the_stream_with_a_subprotocol(
    client: TestClient, alice, alice_character: str
) -> None:
    sid = client.post("/v1/sessions", headers=alice, json={"character_id": alice_character}).json()
    offered = ["visavis", f"visavis.key.{_key(alice)}"]
    with client.websocket_connect(f"/v1/sessions/{sid['id']}/stream", subprotocols=offered) as ws:
        assert ws.accepted_subprotocol == "visavis"  # a browser drops a socket that echoes none
        message = ws.receive_bytes()
    header_len, _ = struct.unpack("<II", message[:8])
    assert "index" in json.loads(message[8 : 8 + header_len])

    wrong = ["visavis", "visavis.key.vv_nope_nope"]
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"/v1/sessions/{sid['id']}/stream", subprotocols=wrong) as ws,
    ):
        ws.receive_bytes()
    assert refused.value.code == 4401
    client.post(f"/v1/sessions/{sid['id']}/close", headers=alice)


def test_live_page_carries_the_demo_key_and_character(client: TestClient) -> None:
    assert client.get("/demo/live").status_code == 404  # no demo on this app
    client.app.state.demo = {"publishable_key": "pk_a_b", "character_id": "ch_x"}  # type: ignore[attr-defined]
    try:
        page = client.get("/demo/live")
    finally:
        client.app.state.demo = None  # type: ignore[attr-defined]
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert '"apiKey": "pk_a_b"' in page.text and '"characterId": "ch_x"' in page.text
    assert "/*DEMO_CONFIG*/null" not in page.text
