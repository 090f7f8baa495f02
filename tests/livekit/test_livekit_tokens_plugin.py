"""The avatar's token claims (decoded with the secret) and the plugin's wiring with livekit's
own classes: token minted, dispatch requested, the agent's audio redirected to the avatar."""

from __future__ import annotations

import asyncio
import json

import httpx
import jwt
import pytest
from livekit import api
from livekit.agents import AgentSession
from livekit.agents.voice.avatar import DataStreamAudioOutput
from livekit.plugins import visavis

from service.transports.livekit.tokens import mint_avatar_token

KEY, SECRET = "APItestkey", "s3cret-" + "x" * 40


def claims(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"])


def assert_least_grants(decoded: dict, room: str) -> None:
    video = decoded["video"]
    assert video["roomJoin"] is True and video["room"] == room
    assert video["canPublish"] is True and video["canSubscribe"] is True
    assert video["canPublishData"] is True
    assert sorted(video["canPublishSources"]) == ["camera", "microphone"]
    for power in ("roomAdmin", "roomCreate", "roomList", "roomRecord", "ingressAdmin"):
        assert not video.get(power), f"{power} granted"


def test_service_token_claims():
    token = mint_avatar_token(
        api_key=KEY, api_secret=SECRET, room="sales", identity="face-1", on_behalf_of="agent-9"
    )
    decoded = claims(token)
    assert decoded["iss"] == KEY and decoded["sub"] == "face-1"
    assert decoded["kind"] == "agent"
    assert decoded["attributes"] == {"lk.publish_on_behalf": "agent-9"}
    assert_least_grants(decoded, "sales")
    assert 0 < decoded["exp"] - decoded["nbf"] <= 24 * 3600
    assert api.TokenVerifier(KEY, SECRET).verify(token).identity == "face-1"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-of-sufficient-length!!", algorithms=["HS256"])
    with pytest.raises(ValueError, match="must differ"):
        mint_avatar_token(api_key=KEY, api_secret=SECRET, room="r", identity="a", on_behalf_of="a")
    with pytest.raises(ValueError, match="room"):
        mint_avatar_token(api_key=KEY, api_secret=SECRET, room="", identity="a", on_behalf_of="b")


class _Participant:
    identity = "agent-7"


class OfflineRoom:
    """A room before it connects: enough for the plugin and DataStreamAudioOutput to wire up."""

    name = "support-42"
    local_participant = _Participant()

    def __init__(self) -> None:
        self.handlers: dict[str, list] = {}

    def isconnected(self) -> bool:
        return False

    def on(self, event: str, handler=None):  # type: ignore[no-untyped-def]
        self.handlers.setdefault(event, []).append(handler)
        return handler

    def off(self, event: str, handler) -> None:  # type: ignore[no-untyped-def]
        self.handlers.get(event, []).remove(handler)


async def test_plugin_mints_dispatches_and_redirects_audio(monkeypatch):
    monkeypatch.setenv("LIVEKIT_URL", "wss://lk.example")
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    requests: list[httpx.Request] = []

    def service(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.method == "POST":
            return httpx.Response(202, json={"id": "lk_0123", "state": "starting"})
        return httpx.Response(204)

    http = httpx.AsyncClient(transport=httpx.MockTransport(service))
    avatar = visavis.AvatarSession(
        character_id="ch_abc",
        api_url="http://visavis.local/",
        api_key="vv_id_secret",
        avatar_participant_identity="face-of-agent-7",
        http_client=http,
    )
    session = AgentSession()
    room = OfflineRoom()
    await avatar.start(session, room=room)  # type: ignore[arg-type]

    post = requests[0]
    assert post.method == "POST" and str(post.url) == "http://visavis.local/v1/livekit/dispatch"
    assert post.headers["X-API-Key"] == "vv_id_secret"
    body = json.loads(post.content)
    assert body["room"] == "support-42" and body["url"] == "wss://lk.example"
    assert body["character_id"] == "ch_abc" and body["avatar_identity"] == "face-of-agent-7"
    assert SECRET not in post.content.decode(), "the LiveKit secret left the agent"
    decoded = claims(body["token"])
    assert decoded["kind"] == "agent" and decoded["sub"] == "face-of-agent-7"
    assert decoded["attributes"] == {"lk.publish_on_behalf": "agent-7"}
    assert_least_grants(decoded, "support-42")

    output = session.output.audio
    assert isinstance(output, DataStreamAudioOutput)
    assert output._destination_identity == "face-of-agent-7"
    assert avatar.avatar_identity == "face-of-agent-7" and avatar.dispatch_id == "lk_0123"

    await avatar.aclose()
    assert requests[-1].method == "DELETE"
    assert str(requests[-1].url).endswith("/v1/livekit/dispatch/lk_0123")
    await http.aclose()


async def test_plugin_reports_a_refusal_and_missing_settings(monkeypatch):
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "VISAVIS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(visavis.VisavisError, match="VISAVIS_API_KEY"):
        visavis.AvatarSession(character_id="ch_abc")
    refused = httpx.MockTransport(
        lambda r: httpx.Response(404, json={"detail": "no character 'ch_x'"})
    )
    http = httpx.AsyncClient(transport=refused)
    avatar = visavis.AvatarSession(character_id="ch_x", api_key="vv_a_b", http_client=http)
    with pytest.raises(visavis.VisavisError, match="LIVEKIT_URL"):
        await avatar.start(AgentSession(), room=OfflineRoom())  # type: ignore[arg-type]
    with pytest.raises(visavis.VisavisError, match=r"404.*no character"):
        await avatar.start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            livekit_url="ws://x",
            livekit_api_key=KEY,
            livekit_api_secret=SECRET,
        )
    await http.aclose()


class _Remote:
    def __init__(self, identity: str, attributes: dict[str, str]) -> None:
        self.identity, self.attributes = identity, attributes


async def test_livekit_dispatch_mode_speaks_the_worker_protocol(monkeypatch):
    from service.transports.livekit.agent_worker import AGENT_NAME, parse_job_metadata

    monkeypatch.delenv("VISAVIS_API_KEY", raising=False)
    avatar = visavis.AvatarSession(character_id="ch_abc", dispatch="livekit", timeout=2)
    job = parse_job_metadata(avatar.job_metadata("agent-7"))  # what `visavis worker` reads
    assert (job.character_id, job.agent_identity, job.size) == ("ch_abc", "agent-7", "512")
    assert visavis.avatar.WORKER_AGENT_NAME == AGENT_NAME

    room = OfflineRoom()
    room.remote_participants = {"bystander": _Remote("bystander", {})}  # type: ignore[attr-defined]
    waiting = asyncio.create_task(avatar.wait_for_avatar(room, "agent-7"))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    for handler in room.handlers["participant_attributes_changed"]:
        handler({}, _Remote("face-of-someone-else", {"lk.publish_on_behalf": "agent-1"}))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    for handler in room.handlers["participant_attributes_changed"]:
        handler({}, _Remote("agent-AJ_42", {"lk.publish_on_behalf": "agent-7"}))
    assert await waiting == "agent-AJ_42"
    assert room.handlers["participant_attributes_changed"] == []

    with pytest.raises(visavis.VisavisError, match="visavis worker"):
        await avatar.wait_for_avatar(room, "agent-8")  # type: ignore[arg-type]
