"""``AvatarSession`` against real HTTP servers: the dispatch it sends, the token inside it, its
retries (5xx and 429, Retry-After, backoff), and the LiveKit errors it raises."""

from __future__ import annotations

import logging

import jwt
import pytest
from livekit.agents import (
    AgentSession,
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
)
from livekit.agents.voice.avatar import DataStreamAudioOutput
from plugin_helpers import LIVEKIT_KEY, LIVEKIT_SECRET, OfflineRoom, Reply, refused_url

from livekit.plugins import visavis

FAST = APIConnectOptions(max_retry=2, retry_interval=0.05, timeout=5)
LIVEKIT = {
    "livekit_url": "wss://lk.example",
    "livekit_api_key": LIVEKIT_KEY,
    "livekit_api_secret": LIVEKIT_SECRET,
}
ACCEPTED = Reply(202, {"id": "lk_0123", "state": "starting"})


def avatar_for(url: str, **options: object) -> visavis.AvatarSession:
    return visavis.AvatarSession(
        character_id="ch_abc", api_url=url, api_key="vv_id_secret", **options  # type: ignore[arg-type]
    )


def assert_least_grants(token: str, room: str, identity: str, on_behalf_of: str) -> None:
    claims = jwt.decode(token, LIVEKIT_SECRET, algorithms=["HS256"])
    assert claims["iss"] == LIVEKIT_KEY and claims["sub"] == identity
    assert claims["kind"] == "agent"
    assert claims["attributes"] == {"lk.publish_on_behalf": on_behalf_of}
    video = claims["video"]
    assert video["roomJoin"] is True and video["room"] == room
    assert video["canPublish"] is True and video["canSubscribe"] is True
    assert video["canPublishData"] is True
    assert sorted(video["canPublishSources"]) == ["camera", "microphone"]
    for power in ("roomAdmin", "roomCreate", "roomList", "roomRecord", "canUpdateOwnMetadata"):
        assert video[power] is False, f"{power} not denied"
    assert not video.get("ingressAdmin") and not video.get("hidden")
    assert 0 < claims["exp"] - claims["nbf"] <= 24 * 3600


def retry_waits(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [r.wait for r in caplog.records if r.getMessage() == "visavis request failed, retrying"]


async def test_dispatch_token_audio_and_stop(scripted):
    service = await scripted(ACCEPTED, Reply(204, ""))
    avatar = avatar_for(service.url + "/", avatar_participant_identity="face-of-agent-7")
    session = AgentSession()
    await avatar.start(session, room=OfflineRoom(), **LIVEKIT)  # type: ignore[arg-type]

    post = service.received[0]
    assert (post.method, post.path) == ("POST", "/v1/livekit/dispatch")
    assert post.headers["X-API-Key"] == "vv_id_secret"
    assert post.headers["User-Agent"] == f"livekit-plugins-visavis/{visavis.__version__}"
    body = post.body
    assert set(body) == {"room", "url", "token", "character_id", "avatar_identity", "size"}
    assert (body["room"], body["url"], body["size"]) == ("support-42", "wss://lk.example", "512")
    assert (body["character_id"], body["avatar_identity"]) == ("ch_abc", "face-of-agent-7")
    assert LIVEKIT_SECRET not in str(body), "the LiveKit secret left the agent"
    assert_least_grants(body["token"], "support-42", "face-of-agent-7", on_behalf_of="agent-7")

    output = session.output.audio
    assert isinstance(output, DataStreamAudioOutput)
    assert output._destination_identity == "face-of-agent-7"
    assert avatar.avatar_identity == "face-of-agent-7" and avatar.dispatch_id == "lk_0123"
    assert avatar.provider == "visavis"

    await avatar.aclose()
    assert [(r.method, r.path) for r in service.received[1:]] == [
        ("DELETE", "/v1/livekit/dispatch/lk_0123")
    ]
    assert avatar.dispatch_id is None


async def test_503_twice_then_accepted_waits_as_retry_after_asks(scripted, caplog):
    caplog.set_level(logging.WARNING, logger="livekit.plugins.visavis")
    service = await scripted(
        Reply(503, {"detail": "starting up"}, {"Retry-After": "1"}),
        Reply(503, {"detail": "still starting"}),
        ACCEPTED,
    )
    avatar = avatar_for(service.url, conn_options=FAST)
    await avatar.start(AgentSession(), room=OfflineRoom(), **LIVEKIT)  # type: ignore[arg-type]

    assert avatar.dispatch_id == "lk_0123"
    first, second, third = (r.at for r in service.received)
    assert second - first >= 1.0, "Retry-After: 1 was not honoured"
    assert third - second < 0.9, "no Retry-After: the backoff (0.1 s) applies"
    assert retry_waits(caplog) == [1.0, 0.1]  # Retry-After, then retry_interval * 2
    await avatar.aclose()


async def test_429_is_retried_and_5xx_gives_up_with_the_status_and_body(scripted):
    busy = await scripted(Reply(429, {"detail": "at capacity"}), ACCEPTED)
    avatar = avatar_for(busy.url, conn_options=FAST)
    await avatar.start(AgentSession(), room=OfflineRoom(), **LIVEKIT)  # type: ignore[arg-type]
    assert avatar.dispatch_id == "lk_0123" and len(busy.received) == 2

    down = await scripted(*[Reply(502, "bad gateway")] * 3)
    with pytest.raises(APIStatusError) as raised:
        await avatar_for(down.url, conn_options=FAST).start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            **LIVEKIT,
        )
    assert len(down.received) == 3  # the first try and max_retry=2 retries
    assert raised.value.status_code == 502 and raised.value.body == "bad gateway"
    assert "attempt 3 of 3" in str(raised.value)


async def test_401_is_not_retried(scripted):
    service = await scripted(Reply(401, {"detail": "invalid API key"}), ACCEPTED)
    with pytest.raises(APIStatusError) as raised:
        await avatar_for(service.url, conn_options=FAST).start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            **LIVEKIT,
        )
    error = raised.value
    assert len(service.received) == 1
    assert error.status_code == 401 and error.body == {"detail": "invalid API key"}
    assert error.retryable is False and "invalid API key" in str(error)


async def test_a_retry_after_longer_than_the_plugin_waits_fails_at_once(scripted):
    service = await scripted(Reply(429, {"detail": "at capacity"}, {"Retry-After": "120"}))
    with pytest.raises(APIStatusError, match="retry after 120 s") as raised:
        await avatar_for(service.url, conn_options=FAST).start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            **LIVEKIT,
        )
    assert len(service.received) == 1 and raised.value.status_code == 429


async def test_connection_refused_is_retried_with_backoff_then_raised(caplog):
    caplog.set_level(logging.WARNING, logger="livekit.plugins.visavis")
    nowhere = refused_url()
    with pytest.raises(APIConnectionError, match="attempt 3 of 3") as raised:
        await avatar_for(nowhere, conn_options=FAST).start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            **LIVEKIT,
        )
    assert not isinstance(raised.value, APIStatusError)
    assert nowhere in str(raised.value) and "ConnectError" in str(raised.value)
    assert retry_waits(caplog) == [0.05, 0.1]  # backoff doubles

    with pytest.raises(APIConnectionError, match="attempt 1 of 1"):
        await avatar_for(nowhere, conn_options=APIConnectOptions(max_retry=0)).start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            **LIVEKIT,
        )


async def test_a_post_whose_response_is_lost_is_not_repeated(response_lost):
    url, received = response_lost
    with pytest.raises(APIConnectionError, match="not repeated") as raised:
        await avatar_for(url, conn_options=FAST).start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            **LIVEKIT,
        )
    assert len(received) == 1 and received[0].startswith(b"POST /v1/livekit/dispatch ")
    assert raised.value.retryable is False


async def test_stopping_survives_an_unreachable_service(scripted, caplog):
    service = await scripted(ACCEPTED)
    avatar = avatar_for(service.url, conn_options=FAST)
    await avatar.start(AgentSession(), room=OfflineRoom(), **LIVEKIT)  # type: ignore[arg-type]
    await service.close()
    await avatar.aclose()  # one DELETE attempt, logged, not raised
    assert "could not stop the visavis avatar" in caplog.text
    assert avatar.dispatch_id is None


def test_retry_after_as_an_http_date():
    import email.utils
    import time

    import httpx

    from livekit.plugins.visavis.api import _retry_after

    later = email.utils.formatdate(time.time() + 5, usegmt=True)
    waited = _retry_after(httpx.Response(503, headers={"Retry-After": later}))
    assert waited is not None and 3.5 < waited <= 5.0
    assert _retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert _retry_after(httpx.Response(503)) is None


async def test_a_silent_service_times_out_as_livekit_timeout(monkeypatch):
    """No answer within the response timeout: APITimeoutError (an APIConnectionError)."""
    import asyncio

    from livekit.plugins.visavis import api

    done = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await done.wait()
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    monkeypatch.setattr(api, "RESPONSE_TIMEOUT", 0.3)
    client = api.VisavisAPI(api_url=url, api_key="k", conn_options=FAST)
    with pytest.raises(APITimeoutError, match=r"ReadTimeout.*attempt 1 of 1") as raised:
        await client.delete_dispatch("lk_1")  # while shutting down: one attempt only
    assert raised.value.retryable is True  # a DELETE may be repeated (here by the caller)
    await client.aclose()
    done.set()
    server.close()
    await server.wait_closed()
