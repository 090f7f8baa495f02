"""The avatar worker's room logic on a stand-in room (publishing and media need a server):
it waits for its agent, subscribes to the humans' microphones only, and leaves with its agent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from livekit import rtc
from realtime_fakes import PaintRenderer, PeakLookaheadStream

from service.realtime.engine import RealtimeSession
from service.transports.livekit.worker import AvatarWorker, AvatarWorkerOptions


class Publication:
    def __init__(self, sid: str, source: int, kind: int = rtc.TrackKind.KIND_AUDIO) -> None:
        self.sid, self.source, self.kind = sid, source, kind
        self.subscribed = False
        self.track = None

    def set_subscribed(self, subscribed: bool) -> None:
        self.subscribed = subscribed


class Participant:
    def __init__(self, identity: str, kind: int, publications: list[Publication], **attrs: str):
        self.identity, self.kind, self.attributes = identity, kind, dict(attrs)
        self.state = rtc.ParticipantState.PARTICIPANT_STATE_ACTIVE
        self.track_publications = {p.sid: p for p in publications}


class Published:
    async def wait_for_subscription(self) -> None:
        return None


class LocalParticipant:
    identity = "face"

    def __init__(self) -> None:
        self._rpc_handlers: dict[str, Any] = {}

    def register_rpc_method(self, name: str, handler: Any) -> None:
        self._rpc_handlers[name] = handler

    async def publish_track(self, track: Any, options: Any) -> Published:
        return Published()

    async def perform_rpc(self, **kwargs: Any) -> str:
        return "ok"


class StandInRoom(rtc.EventEmitter):
    name = "stand-in"

    def __init__(self, participants: list[Participant]) -> None:
        super().__init__()
        self.local_participant = LocalParticipant()
        self.remote_participants = {p.identity: p for p in participants}

    def isconnected(self) -> bool:
        return True

    def register_byte_stream_handler(self, topic: str, handler: Any) -> None:
        self.byte_stream_topic = topic


def people() -> tuple[Participant, Participant, Participant]:
    agent = Participant("agent-1", rtc.ParticipantKind.PARTICIPANT_KIND_AGENT, [])
    alice = Participant(
        "alice",
        rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD,
        [
            Publication("TR_mic", rtc.TrackSource.SOURCE_MICROPHONE),
            Publication("TR_share", rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO),
            Publication("TR_cam", rtc.TrackSource.SOURCE_CAMERA, rtc.TrackKind.KIND_VIDEO),
        ],
    )
    other_avatar = Participant(
        "face-2",
        rtc.ParticipantKind.PARTICIPANT_KIND_AGENT,
        [Publication("TR_face2", rtc.TrackSource.SOURCE_MICROPHONE)],
        **{"lk.publish_on_behalf": "agent-9"},
    )
    return agent, alice, other_avatar


async def test_worker_listens_to_humans_and_leaves_with_its_agent():
    agent, alice, other_avatar = people()
    room = StandInRoom([alice, other_avatar, agent])
    session = RealtimeSession(renderer=PaintRenderer(), motion=PeakLookaheadStream(2))
    worker = AvatarWorker(session=session, video_size=(32, 32))
    serving = asyncio.create_task(worker.run_in_room(room))  # type: ignore[arg-type]
    for _ in range(100):
        if worker.state == "running":
            break
        await asyncio.sleep(0.02)
    assert worker.state == "running"
    assert room.byte_stream_topic == "lk.audio_stream"
    assert "lk.clear_buffer" in room.local_participant._rpc_handlers
    subscribed = {
        sid
        for p in (alice, other_avatar)
        for sid, pub in p.track_publications.items()
        if pub.subscribed
    }
    assert subscribed == {"TR_mic"}, "only the humans' microphones are listened to"

    room.emit("participant_disconnected", alice)  # a human leaving changes nothing
    await asyncio.sleep(0.1)
    assert not serving.done()
    room.emit("participant_disconnected", agent)
    reason, final = await asyncio.wait_for(serving, timeout=5)
    assert (reason, final) == ("agent left", True)
    await session.aclose()


async def test_worker_gives_up_when_no_agent_joins_and_stops_on_request():
    room = StandInRoom([])
    session = RealtimeSession(renderer=PaintRenderer(), motion=PeakLookaheadStream(2))
    worker = AvatarWorker(
        session=session, video_size=(32, 32), options=AvatarWorkerOptions(agent_join_timeout_s=0.2)
    )
    reason, final = await worker.run_in_room(room)  # type: ignore[arg-type]
    assert final and reason.startswith("agent did not join")

    patient = AvatarWorker(session=session, video_size=(32, 32))
    waiting = asyncio.create_task(patient.run_in_room(room))  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    assert not waiting.done()
    patient.stop()  # e.g. DELETE /v1/livekit/dispatch/{id} while no agent has come
    assert await asyncio.wait_for(waiting, timeout=2) == ("stopped", True)
    await session.aclose()
    with pytest.raises(ValueError, match="agent_join_timeout_s"):
        AvatarWorkerOptions(agent_join_timeout_s=0)


class Job:
    def __init__(self, metadata: str) -> None:
        self.id, self.metadata = "AJ_standin", metadata


class StandInJobContext:
    """What ``avatar_job`` uses of livekit-agents' JobContext."""

    def __init__(self, room: StandInRoom, metadata: str) -> None:
        self.room, self.job = room, Job(metadata)
        self.connected_with: Any = None
        self.shutdown_reason: str | None = None

    async def connect(self, *, auto_subscribe: Any) -> None:
        self.connected_with = auto_subscribe

    def shutdown(self, reason: str = "") -> None:
        self.shutdown_reason = reason


async def test_worker_mode_job_runs_the_avatar_for_its_agent(client, character_id, monkeypatch):
    import json

    from livekit.agents import AutoSubscribe

    from service.transports.livekit.agent_worker import avatar_job

    monkeypatch.setenv("VISAVIS_DATA_DIR", str(client.app.state.settings.data_dir))
    agent, alice, other_avatar = people()
    room = StandInRoom([other_avatar, alice, agent])
    attributes: dict[str, str] = {}

    async def set_attributes(values: dict[str, str]) -> None:
        attributes.update(values)

    room.local_participant.set_attributes = set_attributes  # type: ignore[attr-defined]
    metadata = json.dumps({"character_id": character_id, "agent_identity": "agent-1"})
    ctx = StandInJobContext(room, metadata)
    job = asyncio.create_task(avatar_job(ctx))  # type: ignore[arg-type]
    for _ in range(600):  # loading the character and its renderer: seconds on a busy machine
        if attributes and "lk.clear_buffer" in room.local_participant._rpc_handlers:
            break
        await asyncio.sleep(0.05)
    assert attributes == {"lk.publish_on_behalf": "agent-1"}
    assert ctx.connected_with == AutoSubscribe.SUBSCRIBE_NONE
    room.emit("participant_disconnected", agent)
    await asyncio.wait_for(job, timeout=10)
    assert ctx.shutdown_reason == "agent left"


def test_connection_errors_are_reported_without_the_token():
    from service.transports.livekit.worker import redact

    token = "eyJhbGciOiJIUzI1NiJ9.secret.part"
    message = f"401 from wss://lk/rtc/validate?access_token={token}&protocol=16: {token} rejected"
    cleaned = redact(message, token)
    assert token not in cleaned and "secret" not in cleaned
    assert cleaned.startswith("401 from wss://lk/rtc/validate?access_token=***&protocol=16")
