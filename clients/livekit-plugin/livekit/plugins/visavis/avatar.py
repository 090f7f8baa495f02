"""The plugin's ``AvatarSession``: mint the avatar worker's token, have visavis (or the LiveKit
server) dispatch a worker into the room, and send the agent's speech to it instead of
publishing it directly."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
from typing import Any, Literal, get_args

import aiohttp
import httpx
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    AgentSession,
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    NotGivenOr,
    get_job_context,
)
from livekit.agents.voice.avatar import AvatarSession as _AvatarSessionBase
from livekit.agents.voice.avatar import DataStreamAudioOutput
from livekit.agents.voice.room_io import ATTRIBUTE_PUBLISH_ON_BEHALF

from livekit import api, rtc

from .api import VisavisAPI
from .log import logger

DEFAULT_IDENTITY = "visavis-avatar"
DEFAULT_NAME = "visavis avatar"
WORKER_AGENT_NAME = "visavis-avatar"
"""The name ``visavis worker`` registers with the LiveKit server."""
TOKEN_TTL = datetime.timedelta(hours=6)
Size = Literal["512", "720p"]
"""The video sizes ``POST /v1/livekit/dispatch`` accepts."""
Dispatch = Literal["service", "livekit"]


def _resolve(settings: dict[str, tuple[NotGivenOr[str], str]]) -> dict[str, str]:
    """Each setting from its argument, else its environment variable; one error names every
    setting that has neither."""
    resolved = {name: value or os.environ.get(env, "") for name, (value, env) in settings.items()}
    missing = [f"{name} (or {env})" for name, (_, env) in settings.items() if not resolved[name]]
    if missing:
        raise ValueError(f"visavis.AvatarSession is missing {', '.join(missing)}")
    return resolved


class AvatarSession(_AvatarSessionBase):
    """A visavis avatar for one agent session."""

    def __init__(
        self,
        *,
        character_id: NotGivenOr[str] = NOT_GIVEN,
        api_url: NotGivenOr[str] = NOT_GIVEN,
        api_key: NotGivenOr[str] = NOT_GIVEN,
        avatar_participant_identity: NotGivenOr[str] = NOT_GIVEN,
        avatar_participant_name: NotGivenOr[str] = NOT_GIVEN,
        size: Size = "512",
        dispatch: Dispatch = "service",
        agent_name: str = WORKER_AGENT_NAME,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        join_timeout: float = 30.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        """``character_id``, ``api_url`` and ``api_key`` fall back to ``VISAVIS_CHARACTER_ID``,
        ``VISAVIS_API_URL`` and ``VISAVIS_API_KEY``.

        ``dispatch="service"`` asks the visavis service at ``api_url`` to send a worker,
        retrying as ``conn_options`` says; ``dispatch="livekit"`` asks the LiveKit server to
        dispatch a job to the registered ``visavis worker`` machines (agent ``agent_name``),
        which then need no visavis URL or key, and waits ``join_timeout`` seconds for one."""
        super().__init__()
        if dispatch not in get_args(Dispatch):
            raise ValueError(f"dispatch must be one of {get_args(Dispatch)}, got {dispatch!r}")
        if size not in get_args(Size):
            raise ValueError(f"size must be one of {get_args(Size)}, got {size!r}")
        if join_timeout <= 0:
            raise ValueError(f"join_timeout must be positive seconds, got {join_timeout!r}")
        settings = {"character_id": (character_id, "VISAVIS_CHARACTER_ID")}
        if dispatch == "service":
            settings["api_url"] = (api_url, "VISAVIS_API_URL")
            settings["api_key"] = (api_key, "VISAVIS_API_KEY")
        resolved = _resolve(settings)
        self._character_id = resolved["character_id"]
        self._api = (
            VisavisAPI(
                api_url=resolved["api_url"],
                api_key=resolved["api_key"],
                conn_options=conn_options,
                http_client=http_client,
            )
            if dispatch == "service"
            else None
        )
        self._dispatch_mode = dispatch
        self._agent_name = agent_name
        self._identity = avatar_participant_identity or DEFAULT_IDENTITY
        self._name = avatar_participant_name or DEFAULT_NAME
        self._size = size
        self._join_timeout = join_timeout
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
        livekit_url: NotGivenOr[str] = NOT_GIVEN,
        livekit_api_key: NotGivenOr[str] = NOT_GIVEN,
        livekit_api_secret: NotGivenOr[str] = NOT_GIVEN,
    ) -> None:
        """Bring the avatar into ``room`` and route ``agent_session``'s audio to it. Call it
        before ``agent_session.start``; then ``wait_for_join()`` waits for the face."""
        livekit = _resolve(
            {
                "livekit_url": (livekit_url, "LIVEKIT_URL"),
                "livekit_api_key": (livekit_api_key, "LIVEKIT_API_KEY"),
                "livekit_api_secret": (livekit_api_secret, "LIVEKIT_API_SECRET"),
            }
        )
        url, key = livekit["livekit_url"], livekit["livekit_api_key"]
        secret = livekit["livekit_api_secret"]
        agent_identity = self._agent_identity(room)
        if self._api is None:
            await self._dispatch_job(url, key, secret, room.name, agent_identity)
            self._identity = await self.wait_for_avatar(room, agent_identity)
        else:
            if agent_identity == self._identity:
                raise ValueError(
                    f"the avatar identity {self._identity!r} is the agent's own: "
                    "pass another avatar_participant_identity"
                )
            token = self.mint_token(
                api_key=key, api_secret=secret, room=room.name, agent_identity=agent_identity
            )
            body = {
                "room": room.name,
                "url": url,
                "token": token,
                "character_id": self._character_id,
                "avatar_identity": self._identity,
                "size": self._size,
            }
            try:
                self.dispatch_id = await self._api.create_dispatch(body)
            except BaseException:
                await self._api.aclose()  # nothing started: release the connection now
                raise
            logger.info("visavis avatar dispatched", extra={"dispatch_id": self.dispatch_id})
        await super().start(agent_session, room)
        _route_audio(
            agent_session,
            DataStreamAudioOutput(
                room=room,
                destination_identity=self._identity,
                wait_remote_track=rtc.TrackKind.KIND_VIDEO,
            ),
        )

    def mint_token(self, *, api_key: str, api_secret: str, room: str, agent_identity: str) -> str:
        """The avatar's JWT: kind agent, on behalf of the agent, least grants for ``room``."""
        if not room:
            raise ValueError("the room has no name yet: start the avatar after ctx.connect()")
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            can_publish=True,
            can_subscribe=True,
            can_publish_data=True,
            can_publish_sources=["camera", "microphone"],
            can_update_own_metadata=False,  # denied explicitly, not left to the server's default
            room_admin=False,
            room_create=False,
            room_list=False,
            room_record=False,
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
        try:
            async with api.LiveKitAPI(url, key, secret) as livekit_api:
                dispatch = await livekit_api.agent_dispatch.create_dispatch(request)
        except api.TwirpError as exc:
            raise APIStatusError(
                f"the LiveKit server refused the visavis worker job: {exc.message}",
                status_code=exc.status,
                body={"code": exc.code, "message": exc.message},
            ) from exc
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise APIConnectionError(f"the LiveKit server at {url} is unreachable: {exc}") from exc
        logger.info("visavis worker job requested", extra={"dispatch_id": dispatch.id})

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
            return await asyncio.wait_for(found, timeout=self._join_timeout)
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"no visavis worker joined within {self._join_timeout:g} s: is `visavis worker` "
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
            raise ValueError("cannot tell the agent's identity: connect the room first")
        return identity

    async def aclose(self) -> None:
        """Ask visavis to take the avatar out of the room, then release the base resources."""
        if self._api is not None:
            if self.dispatch_id is not None:
                try:
                    await self._api.delete_dispatch(self.dispatch_id)
                except (APIStatusError, APIConnectionError) as exc:
                    logger.warning("could not stop the visavis avatar", extra={"error": str(exc)})
                self.dispatch_id = None
            await self._api.aclose()
        await super().aclose()


def _route_audio(agent_session: AgentSession, sink: DataStreamAudioOutput) -> None:
    """Make ``sink`` the end of the agent's audio chain. livekit-agents 1.6.1 added
    ``replace_audio_tail``, which keeps wrappers (transcript sync, recorder) when an avatar
    replaces another mid-session; before it, the sink replaces the chain, as it then did in
    LiveKit's own avatar plugins."""
    output = agent_session.output
    if hasattr(output, "replace_audio_tail"):
        output.replace_audio_tail(sink)
    else:
        output.audio = sink
