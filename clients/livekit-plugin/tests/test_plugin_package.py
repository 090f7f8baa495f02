"""The plugin as a LiveKit plugin package (registered, typed, versioned, its own logger), its
settings from arguments or the environment, and ``dispatch="livekit"``."""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.resources
import json
import logging

import pytest
from livekit.agents import (
    AgentSession,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    Plugin,
)
from plugin_helpers import LIVEKIT_KEY, LIVEKIT_SECRET, OfflineRoom, Reply, refused_url

from livekit.plugins import visavis


def test_registered_typed_versioned():
    ours = [p for p in Plugin.registered_plugins if p.title == "livekit.plugins.visavis"]
    assert len(ours) == 1, "registered once, on import"
    plugin = ours[0]
    assert plugin.version == visavis.__version__
    assert plugin.package == "livekit.plugins.visavis"
    assert plugin.logger is logging.getLogger("livekit.plugins.visavis")
    assert importlib.metadata.version("livekit-plugins-visavis") == visavis.__version__
    assert importlib.resources.files("livekit.plugins.visavis").joinpath("py.typed").is_file()
    assert visavis.__all__ == ["AvatarSession", "__version__"]


def test_missing_settings_are_all_named(monkeypatch):
    with pytest.raises(ValueError) as raised:
        visavis.AvatarSession()
    message = str(raised.value)
    for name in ("VISAVIS_CHARACTER_ID", "VISAVIS_API_URL", "VISAVIS_API_KEY"):
        assert name in message
    with pytest.raises(ValueError, match=r"missing api_key \(or VISAVIS_API_KEY\)$"):
        visavis.AvatarSession(character_id="ch_1", api_url="http://v")

    # worker dispatch needs only the character: no visavis URL or key
    visavis.AvatarSession(dispatch="livekit", character_id="ch_1")
    with pytest.raises(ValueError, match="dispatch must be one of"):
        visavis.AvatarSession(character_id="ch_1", dispatch="cloud")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"size must be one of \('512', '720p'\), got '4k'"):
        visavis.AvatarSession(character_id="ch_1", dispatch="livekit", size="4k")  # type: ignore[arg-type]


async def test_settings_from_the_environment(scripted, monkeypatch):
    service = await scripted(Reply(202, {"id": "lk_env"}))
    monkeypatch.setenv("VISAVIS_CHARACTER_ID", "ch_from_env")
    monkeypatch.setenv("VISAVIS_API_URL", service.url)
    monkeypatch.setenv("VISAVIS_API_KEY", "vv_env_key")
    avatar = visavis.AvatarSession()

    with pytest.raises(ValueError) as raised:
        await avatar.start(AgentSession(), room=OfflineRoom())  # type: ignore[arg-type]
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        assert name in str(raised.value)
    assert service.received == []

    monkeypatch.setenv("LIVEKIT_URL", "wss://lk.example")
    monkeypatch.setenv("LIVEKIT_API_KEY", LIVEKIT_KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", LIVEKIT_SECRET)
    await avatar.start(AgentSession(), room=OfflineRoom())  # type: ignore[arg-type]
    post = service.received[0]
    assert post.headers["X-API-Key"] == "vv_env_key"
    assert post.body["character_id"] == "ch_from_env" and post.body["url"] == "wss://lk.example"
    assert avatar.dispatch_id == "lk_env"
    await avatar.aclose()


async def test_the_avatar_cannot_take_the_agents_identity(scripted):
    service = await scripted()
    avatar = visavis.AvatarSession(
        character_id="ch_1", api_url=service.url, api_key="k", avatar_participant_identity="agent-7"
    )
    with pytest.raises(ValueError, match="the agent's own"):
        await avatar.start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            livekit_url="ws://x",
            livekit_api_key=LIVEKIT_KEY,
            livekit_api_secret=LIVEKIT_SECRET,
        )
    assert service.received == []


class _Remote:
    def __init__(self, identity: str, attributes: dict[str, str]) -> None:
        self.identity, self.attributes = identity, attributes


async def test_worker_dispatch_waits_for_the_worker_that_speaks_for_the_agent():
    avatar = visavis.AvatarSession(character_id="ch_abc", dispatch="livekit", join_timeout=2)
    assert json.loads(avatar.job_metadata("agent-7")) == {
        "character_id": "ch_abc",
        "agent_identity": "agent-7",
        "size": "512",
    }
    room = OfflineRoom()
    room.remote_participants = {"bystander": _Remote("bystander", {})}
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

    quick = visavis.AvatarSession(character_id="ch_abc", dispatch="livekit", join_timeout=0.2)
    with pytest.raises(APITimeoutError, match="'visavis-avatar'"):
        await quick.wait_for_avatar(room, "agent-8")  # type: ignore[arg-type]


async def test_worker_dispatch_refused_by_the_livekit_server(scripted):
    """The LiveKit server's Twirp error (here a real HTTP server answering as one) reaches the
    agent as an APIStatusError with its status and message; no server, APIConnectionError."""
    livekit_server = await scripted(
        Reply(401, {"code": "unauthenticated", "msg": "invalid API key: APIplugintest"})
    )
    avatar = visavis.AvatarSession(character_id="ch_abc", dispatch="livekit", join_timeout=1)
    with pytest.raises(APIStatusError, match="invalid API key") as raised:
        await avatar.start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            livekit_url=livekit_server.url,
            livekit_api_key=LIVEKIT_KEY,
            livekit_api_secret=LIVEKIT_SECRET,
        )
    assert raised.value.status_code == 401
    request = livekit_server.received[0]
    assert request.path == "/twirp/livekit.AgentDispatchService/CreateDispatch"

    nowhere = refused_url()
    with pytest.raises(APIConnectionError, match="unreachable") as raised:
        await avatar.start(
            AgentSession(),
            room=OfflineRoom(),  # type: ignore[arg-type]
            livekit_url=nowhere,
            livekit_api_key=LIVEKIT_KEY,
            livekit_api_secret=LIVEKIT_SECRET,
        )
    assert nowhere in str(raised.value) and not isinstance(raised.value, APIStatusError)
