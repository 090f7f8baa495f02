"""``GET /v1/widget.js``: the web widget (``service/static/widget.js``), public (a ``<script>``
tag loads it, with no key), with this service's WebRTC ICE servers written into it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Response

from service.deps import SettingsDep
from service.settings import IceServer
from service.strict import StrictRoute

WIDGET = Path(__file__).resolve().parents[1] / "static" / "widget.js"
CONFIG_MARK = "/*VISAVIS_CONFIG*/{}"
MAX_AGE_S = 300

router = APIRouter(tags=["widget"], route_class=StrictRoute)


@cache
def _source() -> str:
    text = WIDGET.read_text()
    if CONFIG_MARK not in text:
        raise RuntimeError(f"{WIDGET} lacks its config mark {CONFIG_MARK!r}")
    return text


def _ice(server: IceServer) -> dict[str, object]:
    entry: dict[str, object] = {"urls": list(server.urls)}
    if server.username is not None:
        entry["username"] = server.username
    if server.credential is not None:
        entry["credential"] = server.credential.get_secret_value()
    return entry


@router.get(
    "/v1/widget.js",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}}}},
)
def widget_script(settings: SettingsDep) -> Response:
    """The embeddable player: ``<script src="/v1/widget.js" data-character="ch_..."
    data-key="pk_..." async></script>`` (attributes and API: the script's header)."""
    config = {"iceServers": [_ice(server) for server in settings.webrtc_ice_servers]}
    text = _source().replace(CONFIG_MARK, json.dumps(config).replace("</", "<\\/"))
    return Response(
        text,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": f"public, max-age={MAX_AGE_S}"},
    )
