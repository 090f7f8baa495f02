"""``POST /v1/sessions/{id}/webrtc``: a session's frames and voice over WebRTC, and the
browser's microphone back as what the avatar hears (``service.transports.webrtc``).

The browser sends its SDP offer (with its ICE candidates gathered) and gets the answer. A
session has one viewer: a WebSocket viewer attached refuses the offer (409); a new offer for a
session already on WebRTC replaces that connection (a browser reconnecting).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import Field

from service.auth import Caller
from service.errors import ApiError, documented
from service.routers.sessions import ManagerDep, live_session
from service.strict import RequestModel, ResponseModel, StrictRoute
from service.transports.webrtc import MAX_OFFER_CHARS, OfferError, WebRtcPeers

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.webrtc = WebRtcPeers(ice_servers=app.state.settings.webrtc_ice_servers)
    try:
        yield
    finally:
        peers, app.state.webrtc = app.state.webrtc, None
        await peers.aclose()


router = APIRouter(
    prefix="/v1/sessions", tags=["sessions"], lifespan=lifespan, route_class=StrictRoute,
    responses=documented(401, 403, 404, 409, 422, 429, 503),
)  # fmt: skip


def get_peers(request: Request) -> WebRtcPeers:
    peers = getattr(request.app.state, "webrtc", None)
    if peers is None:
        raise ApiError(503, "service is starting or stopping: WebRTC is not ready",
                       headers={"Retry-After": "2"})  # fmt: skip
    return peers  # type: ignore[no-any-return]


PeersDep = Annotated[WebRtcPeers, Depends(get_peers)]


class SdpIn(RequestModel):
    sdp: str = Field(min_length=1, max_length=MAX_OFFER_CHARS, description="the browser's offer")
    type: Literal["offer"] = "offer"


class SdpOut(ResponseModel):
    sdp: str
    type: Literal["answer"] = "answer"


@router.post("/{session_id}/webrtc", response_model=SdpOut)
async def connect_webrtc(
    session_id: str, body: SdpIn, caller: Caller, manager: ManagerDep, peers: PeersDep
) -> SdpOut:
    """Answer a WebRTC offer: one peer connection with the session's video (VP8 or H.264) and
    audio (Opus) and, if the offer sends audio, the microphone as the partner stream. Gather
    ICE candidates before sending the offer (the answer carries all of ours: no trickle)."""
    live = await live_session(manager, session_id, caller)
    if live.streaming and not peers.serves(session_id):
        raise ApiError(409, f"session {session_id!r} has a WebSocket viewer attached; "
                       "one viewer at a time", code="viewer_attached")  # fmt: skip
    live.streaming = True

    def ended() -> None:
        live.streaming = False

    try:
        answer = await peers.connect(
            session_id, live.session, body.sdp, on_frame=live.touch, on_end=ended
        )
    except OfferError as exc:
        live.streaming = peers.serves(session_id)
        raise ApiError(422, str(exc), code="bad_offer") from None
    except BaseException:
        live.streaming = peers.serves(session_id)
        raise
    log.info("webrtc viewer attached session=%s", session_id)
    return SdpOut(sdp=answer)
