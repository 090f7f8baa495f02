"""The plugin's ``AvatarSession``: mint the avatar worker's token, have visavis dispatch a
worker into the room, and send the agent's speech to it instead of publishing it directly."""

from __future__ import annotations

import datetime
import logging
import os

import httpx
from livekit import api, rtc
from livekit.agents import AgentSession, get_job_context
from livekit.agents.voice.avatar import AvatarSession as _AvatarSessionBase
from livekit.agents.voice.avatar import DataStreamAudioOutput
from livekit.agents.voice.room_io import ATTRIBUTE_PUBLISH_ON_BEHALF

log = logging.getLogger("livekit.plugins.visavis")

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_IDENTITY = "visavis-avatar"
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
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__()
        if not character_id:
            raise VisavisError("character_id is required (create one with POST /v1/characters)")
        self._character_id = character_id
        self._api_url = (api_url or os.environ.get("VISAVIS_API_URL") or DEFAULT_API_URL).rstrip(
            "/"
        )
        self._api_key = _setting(api_key, "VISAVIS_API_KEY", "the visavis API key")
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

    @staticmethod
    def _agent_identity(room: rtc.Room) -> str:
        job = get_job_context(required=False)
        if job is not None:
            return job.token_details().identity
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
