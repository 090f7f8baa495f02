"""The plugin's ``AvatarSession``: mint the avatar worker's token, have visavis dispatch a
worker into the room, and send the agent's speech to it instead of publishing it directly."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
from typing import Any, Literal

import httpx
from livekit import api, rtc
from livekit.agents import AgentSession, get_job_context
from livekit.agents.voice.avatar import AvatarSession as _AvatarSessionBase
from livekit.agents.voice.avatar import DataStreamAudioOutput
from livekit.agents.voice.room_io import ATTRIBUTE_PUBLISH_ON_BEHALF

log = logging.getLogger("livekit.plugins.visavis")

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_IDENTITY = "visavis-avatar"
WORKER_AGENT_NAME = "visavis-avatar"
"""The name ``visavis worker`` registers with the LiveKit server."""
TOKEN_TTL = datetime.timedelta(hours=6)


class VisavisError(RuntimeError):
    """The avatar could not be started (bad configuration, or the service refused)."""


def _setting(value: str | None, env: str, what: str) -> str:
    resolved = value or os.environ.get(env)
    if not resolved:
        raise VisavisError(f"{what} is not set: pass it, or set {env}")
    return resolved


class AvatarSession(_AvatarSessionBase):
    """A visavis avatar for one agent session."""

    def __init__(
        self,
        *,
        character_id: str,
        api_url: str | None = None,
        api_key: str | None = None,
        avatar_participant_identity: str = DEFAULT_IDENTITY,
        avatar_participant_name: str = "visavis avatar",
        size: str = "512",
        dispatch: Literal["service", "livekit"] = "service",
        agent_name: str = WORKER_AGENT_NAME,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        """``dispatch="service"`` asks the visavis service at ``api_url`` to send a worker;
        ``dispatch="livekit"`` asks the LiveKit server to dispatch a job to the registered
        ``visavis worker`` machines (agent ``agent_name``), which then need no visavis API key."""
        super().__init__()
        if not character_id:
            raise VisavisError("character_id is required (create one with POST /v1/characters)")
        if dispatch not in ("service", "livekit"):
            raise VisavisError(f"dispatch must be 'service' or 'livekit', got {dispatch!r}")
        self._character_id = character_id
        self._dispatch_mode = dispatch
        self._agent_name = agent_name
        base_url = api_url or os.environ.get("VISAVIS_API_URL") or DEFAULT_API_URL
        self._api_url = base_url.rstrip("/")
        self._api_key = (
            _setting(api_key, "VISAVIS_API_KEY", "the visavis API key")
            if dispatch == "service"
            else ""
        )
        self._identity = avatar_participant_identity
        self._name = avatar_participant_name
        self._size = size
        self._http = http_client
        self._timeout = timeout
        self.dispatch_id: str | None = None

    @property
    def avatar_identity(self) -> str:
        return self._identity

    @property
    def provider(self) -> str:
        return "visavis"

    async def start(
        self,
        agent_session: AgentSession,
        room: rtc.Room,
        *,
        livekit_url: str | None = None,
        livekit_api_key: str | None = None,
        livekit_api_secret: str | None = None,
    ) -> None:
        url = _setting(livekit_url, "LIVEKIT_URL", "the LiveKit server URL")
        key = _setting(livekit_api_key, "LIVEKIT_API_KEY", "the LiveKit API key")
        secret = _setting(livekit_api_secret, "LIVEKIT_API_SECRET", "the LiveKit API secret")
        agent_identity = self._agent_identity(room)
        if self._dispatch_mode == "livekit":
            await self._dispatch_job(url, key, secret, room.name, agent_identity)
            self._identity = await self.wait_for_avatar(room, agent_identity)
            await super().start(agent_session, room)
        else:
            if agent_identity == self._identity:
                raise VisavisError(f"the avatar identity {self._identity!r} is the agent's own")
            token = self.mint_token(
                api_key=key, api_secret=secret, room=room.name, agent_identity=agent_identity
            )
            await super().start(agent_session, room)
            await self._dispatch(url, token, room.name)
        agent_session.output.audio = DataStreamAudioOutput(
            room,
            destination_identity=self._identity,
            wait_remote_track=rtc.TrackKind.KIND_VIDEO,
        )

    def mint_token(self, *, api_key: str, api_secret: str, room: str, agent_identity: str) -> str:
        """The avatar's JWT: kind agent, on behalf of the agent, least grants for ``room``."""
        if not room:
            raise VisavisError("the room has no name yet: start the avatar after ctx.connect()")
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            can_publish=True,
            can_subscribe=True,
            can_publish_data=True,
            can_publish_sources=["camera", "microphone"],
        )
        return (
            api.AccessToken(api_key=api_key, api_secret=api_secret)
            .with_kind("agent")
            .with_identity(self._identity)
            .with_name(self._name)
            .with_grants(grants)
            .with_attributes({ATTRIBUTE_PUBLISH_ON_BEHALF: agent_identity})
            .with_ttl(TOKEN_TTL)
            .to_jwt()
        )

    def job_metadata(self, agent_identity: str) -> str:
        """What a ``visavis worker`` job reads: the character and whom it speaks for."""
        return json.dumps(
            {
                "character_id": self._character_id,
                "agent_identity": agent_identity,
                "size": self._size,
            }
        )

    async def _dispatch_job(
        self, url: str, key: str, secret: str, room: str, agent_identity: str
    ) -> None:
        request = api.CreateAgentDispatchRequest(
            agent_name=self._agent_name, room=room, metadata=self.job_metadata(agent_identity)
        )
        async with api.LiveKitAPI(url, key, secret) as livekit_api:
            dispatch = await livekit_api.agent_dispatch.create_dispatch(request)
        log.info("visavis worker job requested", extra={"dispatch_id": dispatch.id})

    async def wait_for_avatar(self, room: rtc.Room, agent_identity: str) -> str:
        """The identity of the participant that publishes on behalf of ``agent_identity``."""
        found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def consider(*args: Any) -> None:
            participant = args[-1]  # (participant) or (changed attributes, participant)
            on_behalf_of = participant.attributes.get(ATTRIBUTE_PUBLISH_ON_BEHALF)
            if on_behalf_of == agent_identity and not found.done():
                found.set_result(participant.identity)

        room.on("participant_connected", consider)
        room.on("participant_attributes_changed", consider)
        try:
            for participant in list(room.remote_participants.values()):
                consider(participant)
            return await asyncio.wait_for(found, timeout=self._timeout)
        except TimeoutError:
            raise VisavisError(
                f"no visavis worker joined within {self._timeout:g} s: is `visavis worker` "
                f"running and registered as {self._agent_name!r}?"
            ) from None
        finally:
            room.off("participant_connected", consider)
            room.off("participant_attributes_changed", consider)

    @staticmethod
    def _agent_identity(room: rtc.Room) -> str:
        job = get_job_context(required=False)
        if job is not None:
            return job.local_participant_identity
        identity = room.local_participant.identity
        if not identity:
            raise VisavisError("cannot tell the agent's identity: connect the room first")
        return identity

    async def _dispatch(self, livekit_url: str, token: str, room: str) -> None:
        body = {
            "room": room,
            "url": livekit_url,
            "token": token,
            "character_id": self._character_id,
            "avatar_identity": self._identity,
            "size": self._size,
        }
        client = self._http or httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await client.post(
                f"{self._api_url}/v1/livekit/dispatch",
                json=body,
                headers={"X-API-Key": self._api_key},
            )
        except httpx.HTTPError as exc:
            raise VisavisError(f"visavis at {self._api_url} is unreachable: {exc}") from exc
        finally:
            if self._http is None:
                await client.aclose()
        if response.status_code != 202:
            raise VisavisError(
                f"visavis refused the dispatch ({response.status_code}): {_detail(response)}"
            )
        self.dispatch_id = response.json()["id"]
        log.info("visavis avatar dispatched", extra={"dispatch_id": self.dispatch_id})

    async def aclose(self) -> None:
        """Ask visavis to take the avatar out of the room, then release the base resources."""
        if self.dispatch_id is not None:
            client = self._http or httpx.AsyncClient(timeout=self._timeout)
            try:
                await client.delete(
                    f"{self._api_url}/v1/livekit/dispatch/{self.dispatch_id}",
                    headers={"X-API-Key": self._api_key},
                )
            except httpx.HTTPError as exc:
                log.warning("could not stop the visavis avatar", extra={"error": str(exc)})
            finally:
                if self._http is None:
                    await client.aclose()
            self.dispatch_id = None
        await super().aclose()


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail or response.text[:200])
