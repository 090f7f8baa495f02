"""``GET /v1/widget.js``: public, JavaScript, with this service's ICE servers written in and no
key of any kind."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings


def test_the_widget_script_is_public_and_carries_the_ice_servers(tmp_path: Path) -> None:
    ice = [{"urls": ["stun:stun.example.org:3478"]},
           {"urls": "turn:turn.example.org", "username": "u", "credential": "c"}]  # fmt: skip
    settings = Settings(data_dir=tmp_path, webrtc_ice_servers=ice)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        script = client.get("/v1/widget.js")  # no key
    assert script.status_code == 200, script.text
    assert script.headers["content-type"].startswith("text/javascript")
    assert "max-age" in script.headers["cache-control"]
    config = script.text.split("const CONFIG = ", 1)[1].split(";", 1)[0]
    assert json.loads(config) == {"iceServers": [
        {"urls": ["stun:stun.example.org:3478"]},
        {"urls": ["turn:turn.example.org"], "username": "u", "credential": "c"},
    ]}  # fmt: skip
    assert "data-key" in script.text and "RTCPeerConnection" in script.text


def test_ice_servers_are_checked_with_the_reason() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="expected stun:, stuns:, turn: or turns:"):
        Settings(webrtc_ice_servers=[{"urls": "http://stun.example.org"}])  # type: ignore[list-item]
