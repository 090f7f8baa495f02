"""The avatar worker: one avatar in one LiveKit room.

It joins as a participant of kind agent whose token carries ``lk.publish_on_behalf`` (so the
room and the agent's front-ends treat its tracks as the agent's face and voice), receives the
agent's speech over livekit-agents' data-stream protocol (``DataStreamAudioReceiver``: byte
streams on ``lk.audio_stream``, RPCs ``lk.clear_buffer`` / ``lk.playback_finished`` /
``lk.playback_started``), renders it with ``AvatarRunner`` (``PlayedPositionRunner``) and our ``SessionVideoGenerator``, and
listens to everybody else's microphone. It leaves when its agent leaves; a dropped connection is
retried with the same token (the SDK itself resumes short outages).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

from livekit import rtc
from livekit.agents import utils
from livekit.agents.voice.avatar import AvatarOptions, DataStreamAudioReceiver

from audio.clocks import FPS
from service.realtime.protocol import SessionProtocol
from service.transports.livekit.listen import PartnerListener
from service.transports.livekit.runner import PlayedPositionRunner
from service.transports.livekit.tokens import ATTRIBUTE_PUBLISH_ON_BEHALF
from service.transports.livekit.video import OUTPUT_SAMPLE_RATE, SessionVideoGenerator

log = logging.getLogger(__name__)

RECEIVE_FRAME_MS = 20
"""Chunks the agent's audio stream is cut into (livekit's default, 100 ms, would hold each
chunk back that long before the session sees it)."""

FINAL_DISCONNECTS = {
    rtc.DisconnectReason.CLIENT_INITIATED,
    rtc.DisconnectReason.DUPLICATE_IDENTITY,
    rtc.DisconnectReason.PARTICIPANT_REMOVED,
    rtc.DisconnectReason.ROOM_DELETED,
    rtc.DisconnectReason.ROOM_CLOSED,
    rtc.DisconnectReason.JOIN_FAILURE,
}
"""Reasons after which rejoining would be wrong (we were removed, the room is gone)."""


_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


def redact(text: str, token: str) -> str:
    """``text`` (an SDK error, say) without the token, even as a URL parameter."""
    return _TOKEN_IN_URL.sub(r"\1***", text.replace(token, "***") if token else text)


def is_voice_agent(participant: rtc.RemoteParticipant) -> bool:
    """An agent participant that is not an avatar (avatars publish on behalf of an agent)."""
    return (
        participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
        and ATTRIBUTE_PUBLISH_ON_BEHALF not in participant.attributes
    )


@dataclass(frozen=True)
class AvatarWorkerOptions:
    agent_identity: str | None = None
    """The agent whose speech the avatar voices; None: the first agent to join that is not
    itself an avatar."""
    agent_join_timeout_s: float = 60.0
    max_reconnects: int = 3
    reconnect_delay_s: float = 1.0

    def __post_init__(self) -> None:
        if self.agent_identity is not None and not self.agent_identity.strip():
            raise ValueError("agent_identity must be a participant identity or None")
        if self.agent_join_timeout_s <= 0:
            raise ValueError(f"agent_join_timeout_s must be > 0, got {self.agent_join_timeout_s}")
        if not 0 <= self.max_reconnects <= 100:
            raise ValueError(f"max_reconnects must be 0..100, got {self.max_reconnects}")
        if self.reconnect_delay_s < 0:
            raise ValueError(f"reconnect_delay_s must be >= 0, got {self.reconnect_delay_s}")


class AvatarWorker:
    """Runs one avatar in one room until its agent leaves, or ``stop()``."""

    def __init__(
        self,
        *,
        session: SessionProtocol,
        video_size: tuple[int, int] | None = None,
        options: AvatarWorkerOptions | None = None,
    ) -> None:
        """``video_size``: (width, height) of the published track; default the session's."""
        size = video_size or session.video_size
        if size is None:
            raise ValueError("the session does not know its picture size: give video_size")
        self.session = session
        self.video_size = size
        self.options = options or AvatarWorkerOptions()
        self.state = "starting"
        self.end_reason: str | None = None
        self.reconnects = 0
        self._stop = asyncio.Event()

    async def run(self, url: str, token: str) -> str:
        """Join ``url`` with ``token`` and stay until the agent leaves; returns why it ended."""
        attempt = 0
        try:
            while True:
                room = rtc.Room()
                try:
                    await room.connect(url, token, rtc.RoomOptions(auto_subscribe=False))
                except rtc.ConnectError as exc:
                    reason = f"could not connect: {redact(str(exc), token)}"
                    final = False
                else:
                    attempt = 0
                    reason, final = await self.run_in_room(room)
                    await room.disconnect()
                if final or self._stop.is_set() or attempt >= self.options.max_reconnects:
                    return self._end(reason)
                attempt += 1
                self.reconnects += 1
                self.state = "reconnecting"
                log.warning("avatar reconnecting attempt=%d reason=%s", attempt, reason)
                await asyncio.sleep(self.options.reconnect_delay_s * attempt)
        finally:
            await self.session.aclose()

    async def run_in_room(self, room: rtc.Room) -> tuple[str, bool]:
        """Serve a connected room; returns (why it ended, whether that is final)."""
        ended: asyncio.Future[tuple[str, bool]] = asyncio.get_running_loop().create_future()

        def finish(reason: str, final: bool) -> None:
            if not ended.done():
                ended.set_result((reason, final))

        def on_disconnected(reason: rtc.DisconnectReason.ValueType) -> None:
            name = rtc.DisconnectReason.Name(reason)
            finish(f"disconnected ({name})", reason in FINAL_DISCONNECTS)

        room.on("disconnected", on_disconnected)
        room.on("reconnecting", self._on_reconnecting)
        room.on("reconnected", self._on_reconnected)
        stop_waiter = asyncio.ensure_future(self._stop.wait())
        stop_waiter.add_done_callback(lambda _: finish("stopped", True))
        waiting = asyncio.ensure_future(self._wait_for_agent(room))
        either: set[asyncio.Future[Any]] = {waiting, ended}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done() or waiting.cancelled() or waiting.exception() is not None:
            waiting.cancel()
            room.off("disconnected", on_disconnected)
            room.off("reconnecting", self._on_reconnecting)
            room.off("reconnected", self._on_reconnected)
            stop_waiter.cancel()
            if ended.done():
                return ended.result()
            error = waiting.exception() if not waiting.cancelled() else None
            return f"agent did not join: {error or 'timeout'}", True
        agent_identity = waiting.result().identity

        def on_left(participant: rtc.RemoteParticipant) -> None:
            if participant.identity == agent_identity:
                finish("agent left", True)

        room.on("participant_disconnected", on_left)
        self.session.interrupt()  # nothing said before a (re)join is still wanted
        self.session.start()
        runner, listener = self._runner_and_listener(room, agent_identity)
        try:
            await runner.start()
            listener.start()
            self.state = "running"
            log.info("avatar running room=%s", room.name)
            return await ended
        finally:
            room.off("participant_disconnected", on_left)
            room.off("disconnected", on_disconnected)
            room.off("reconnecting", self._on_reconnecting)
            room.off("reconnected", self._on_reconnected)
            stop_waiter.cancel()
            await listener.aclose()
            await runner.aclose()

    def _runner_and_listener(
        self, room: rtc.Room, agent_identity: str
    ) -> tuple[PlayedPositionRunner, PartnerListener]:
        """livekit-agents' runner on our video generator (the agent's speech in, our frames
        out) and the listener of everybody else's microphone."""
        width, height = self.video_size
        generator = SessionVideoGenerator(session=self.session)
        runner = PlayedPositionRunner(
            room,
            audio_recv=DataStreamAudioReceiver(
                room, sender_identity=agent_identity, frame_size_ms=RECEIVE_FRAME_MS
            ),
            video_gen=generator,
            options=AvatarOptions(
                video_width=width,
                video_height=height,
                video_fps=FPS,
                audio_sample_rate=OUTPUT_SAMPLE_RATE,
                audio_channels=1,
            ),
        )
        generator.attach(runner.av_sync)
        listener = PartnerListener(
            room=room,
            session=self.session,
            ignore={agent_identity, room.local_participant.identity},
        )
        return runner, listener

    def _on_reconnecting(self) -> None:
        self.state = "reconnecting"  # the SDK resumes the connection; frames keep flowing after
        log.warning("avatar connection interrupted, resuming")

    def _on_reconnected(self) -> None:
        self.state = "running"
        log.info("avatar connection resumed")

    async def _wait_for_agent(self, room: rtc.Room) -> rtc.RemoteParticipant:
        """The named agent, or else the first agent that is not itself an avatar."""
        wanted = self.options.agent_identity
        if wanted:
            waiting = utils.wait_for_participant(room=room, identity=wanted)
            return await asyncio.wait_for(waiting, timeout=self.options.agent_join_timeout_s)
        found: asyncio.Future[rtc.RemoteParticipant] = asyncio.get_running_loop().create_future()

        def consider(participant: rtc.RemoteParticipant) -> None:
            if is_voice_agent(participant) and not found.done():
                found.set_result(participant)

        room.on("participant_active", consider)
        try:
            for participant in list(room.remote_participants.values()):
                if participant.state == rtc.ParticipantState.PARTICIPANT_STATE_ACTIVE:
                    consider(participant)
            return await asyncio.wait_for(found, timeout=self.options.agent_join_timeout_s)
        finally:
            room.off("participant_active", consider)

    def _end(self, reason: str) -> str:
        self.state = "ended"
        self.end_reason = reason
        log.info("avatar ended reason=%s", reason)
        return reason

    def stop(self) -> None:
        """Ask ``run`` to leave the room (it returns soon after)."""
        self._stop.set()
