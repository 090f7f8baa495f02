"""``POST /v1/sessions/{id}/webrtc`` on the real app (a stored character, the real renderer on a
frame worker, the real TTS) with an aiortc viewer: the face arrives, then its voice; the
refusals name their reason; closing the session closes the connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aioice.ice import get_host_addresses
from fastapi.testclient import TestClient

from tools.webrtc_client import WebRtcViewer

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not get_host_addresses(use_ipv4=True, use_ipv6=True),
        reason="no network interface but loopback: aioice offers no 127.0.0.1 candidate",
    ),
]


def _offer_poster(client: TestClient, session_id: str, headers: dict[str, str]) -> Any:
    async def post(sdp: str) -> str:
        reply = await asyncio.to_thread(
            client.post, f"/v1/sessions/{session_id}/webrtc", headers=headers,
            json={"sdp": sdp, "type": "offer"},
        )  # fmt: skip
        assert reply.status_code == 200, reply.text
        assert reply.json()["type"] == "answer"
        return str(reply.json()["sdp"])

    return post


def _session(client: TestClient, headers: dict[str, str], character_id: str) -> str:
    created = client.post("/v1/sessions", headers=headers, json={"character_id": character_id})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_browser_peer_gets_the_face_and_its_voice(
    client: TestClient, alice: dict[str, str], character_id: str
) -> None:
    sid = _session(client, alice, character_id)
    viewer = WebRtcViewer()
    try:
        await viewer.connect(_offer_poster(client, sid, alice))
        got = viewer.received
        await viewer.wait_for("25 pictures", lambda: len(got.pictures) >= 25, 60)
        assert got.size == (512, 512)
        picture = got.last_picture
        assert picture is not None and int(picture.max()) - int(picture.min()) > 100, "no face"
        quiet = max(v for *_, v in got.sounds)

        spoken = await asyncio.to_thread(
            client.post, f"/v1/sessions/{sid}/speak", headers=alice,
            json={"text": "Hello there, I am speaking over WebRTC."},
        )  # fmt: skip
        assert spoken.status_code == 200, spoken.text
        await viewer.wait_for("its voice", lambda: max(v for *_, v in got.sounds) > 0.02, 20)
        assert quiet < 0.005, f"filler silence should be silent, rms {quiet}"

        closed = await asyncio.to_thread(client.post, f"/v1/sessions/{sid}/close", headers=alice)
        assert closed.status_code == 200
        peers = client.app.state.webrtc  # type: ignore[attr-defined]
        await viewer.wait_for("the peer to close", lambda: len(peers) == 0, 10)
    finally:
        await viewer.aclose()


async def test_refusals_name_their_reason(
    client: TestClient, alice: dict[str, str], bob: dict[str, str], character_id: str
) -> None:
    sid = _session(client, alice, character_id)
    viewer = WebRtcViewer()
    try:
        await viewer.pc.setLocalDescription(await viewer.pc.createOffer())
        offer = {"sdp": viewer.pc.localDescription.sdp, "type": "offer"}

        def post(session_id: str, headers: dict[str, str], body: Any) -> Any:
            return client.post(f"/v1/sessions/{session_id}/webrtc", headers=headers, json=body)

        assert post(sid, {}, offer).status_code == 401
        assert post(sid, bob, offer).status_code == 404  # another key's session
        assert post("ses_nope", alice, offer).status_code == 404
        bad = post(sid, alice, {"sdp": "hello", "type": "offer"})
        assert bad.status_code == 422 and "v=0" in bad.text
        assert post(sid, alice, {**offer, "type": "answer"}).status_code == 422

        with client.websocket_connect(f"/v1/sessions/{sid}/stream", headers=alice) as ws:
            ws.receive_bytes()
            busy = post(sid, alice, offer)
            assert busy.status_code == 409 and "WebSocket viewer" in busy.text

        client.post(f"/v1/sessions/{sid}/close", headers=alice)
        closed = post(sid, alice, offer)
        assert closed.status_code == 409 and "resume" in closed.text
    finally:
        await viewer.aclose()
