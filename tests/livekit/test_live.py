"""A real LiveKit room: the avatar joins, voices an agent's audio, reports playback, and leaves
with its agent. Runs when LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET are set."""

from __future__ import annotations

import asyncio
import os
import secrets

import numpy as np
import pytest
from livekit import api, rtc
from livekit.agents.voice.avatar import DataStreamAudioOutput
from realtime_fakes import PaintRenderer, PeakLookaheadStream

from service.realtime.engine import RealtimeSession
from service.transports.livekit.tokens import mint_avatar_token
from service.transports.livekit.worker import AvatarWorker, AvatarWorkerOptions

ENV = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")
missing = [name for name in ENV if not os.environ.get(name)]
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(bool(missing), reason=f"no LiveKit server: {', '.join(missing)} not set"),
]


async def test_avatar_voices_the_agent_in_a_real_room():
    url, key, secret = (os.environ[name] for name in ENV)
    room_name = "visavis-test-" + secrets.token_hex(4)
    agent_token = (
        api.AccessToken(key, secret)
        .with_identity("test-agent")
        .with_kind("agent")
        .with_grants(api.VideoGrants(room_join=True, room=room_name, room_create=True))
        .to_jwt()
    )
    agent_room = rtc.Room()
    await agent_room.connect(url, agent_token)
    avatar_token = mint_avatar_token(
        api_key=key, api_secret=secret, room=room_name, identity="test-avatar",
        on_behalf_of="test-agent",
    )  # fmt: skip
    session = RealtimeSession(renderer=PaintRenderer(64), motion=PeakLookaheadStream(2))
    worker = AvatarWorker(
        session=session,
        video_size=(64, 64),
        options=AvatarWorkerOptions(agent_identity="test-agent", max_reconnects=0),
    )
    run = asyncio.create_task(worker.run(url, avatar_token))
    try:
        output = DataStreamAudioOutput(
            agent_room,
            destination_identity="test-avatar",
            wait_remote_track=rtc.TrackKind.KIND_VIDEO,
        )
        finished: list = []
        output.on("playback_finished", finished.append)
        pcm = (np.sin(np.arange(24_000) / 6) * 8000).astype(np.int16)
        for pos in range(0, pcm.size, 480):
            chunk = pcm[pos : pos + 480]
            await output.capture_frame(rtc.AudioFrame(chunk.tobytes(), 24_000, 1, chunk.size))
        output.flush()
        for _ in range(150):
            if finished:
                break
            await asyncio.sleep(0.1)
        assert finished, "no lk.playback_finished from the avatar"
        assert finished[0].playback_position == pytest.approx(1.0, abs=0.05)
        avatar = agent_room.remote_participants["test-avatar"]
        assert avatar.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
        assert avatar.attributes.get("lk.publish_on_behalf") == "test-agent"
        kinds = {p.kind for p in avatar.track_publications.values()}
        assert kinds == {rtc.TrackKind.KIND_AUDIO, rtc.TrackKind.KIND_VIDEO}
    finally:
        await agent_room.disconnect()
    reason = await asyncio.wait_for(run, timeout=20)
    assert reason == "agent left"
