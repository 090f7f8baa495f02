"""The WebRTC transport against a real aiortc peer (``tools.webrtc_client``) over the loopback
network: a session's pictures and voice arrive together, the viewer's microphone becomes what
the avatar hears, and nothing is left behind when either side goes.

The session is the engine with the fakes of ``realtime_fakes``: its picture's grey level is the
loudness of the audio that leaves with it, so a test can see whether both arrive together.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from aioice.ice import get_host_addresses
from realtime_fakes import PaintRenderer, PeakLookaheadStream

from audio.clocks import SAMPLE_RATE
from service.realtime.engine import RealtimeSession
from service.transports.webrtc import (
    VIDEO_TICKS_PER_FRAME,
    OfferError,
    WebRtcPeers,
    check_offer,
)
from tools.webrtc_client import PcmTrack, WebRtcViewer

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        not get_host_addresses(use_ipv4=True, use_ipv6=True),
        reason="no network interface but loopback: aioice offers no 127.0.0.1 candidate",
    ),
]


def tone(seconds: float, level: float = 0.8) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def webrtc_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("visavis-webrtc")]


async def _viewed(peers: WebRtcPeers, session: RealtimeSession, viewer: WebRtcViewer) -> None:
    async def post(sdp: str) -> str:
        return await peers.connect("s1", session, sdp)

    await viewer.connect(post)
    await viewer.wait_for("pictures", lambda: len(viewer.received.pictures) >= 10, 30)


async def test_pictures_and_voice_arrive_together() -> None:
    session = RealtimeSession(renderer=PaintRenderer(size=64), motion=PeakLookaheadStream())
    session.start()
    peers, viewer = WebRtcPeers(), WebRtcViewer()
    try:
        await _viewed(peers, session, viewer)
        got = viewer.received
        assert got.size == (64, 64)
        assert max(value for _, _, value in got.pictures) < 30, "silence should paint dark frames"

        session.push_audio(tone(0.8), SAMPLE_RATE)
        session.end_segment()
        await viewer.wait_for(
            "loud pictures and sound",
            lambda: any(v > 120 for *_, v in got.pictures) and any(v > 0.3 for *_, v in got.sounds),
            10,
        )
        await asyncio.sleep(1.2)  # the whole utterance and some silence after it

        first_picture = next(at for at, _, v in got.pictures if v > 120)
        first_sound = next(at for at, _, v in got.sounds if v > 0.3)
        # They leave the server in one step. aiortc's receiver then holds 4 audio packets (80 ms)
        # before it decodes, and a picture until the next one begins (40 ms): so the sound
        # arrives about 40 ms after its picture (measured 42 ms at load 4).
        lag = first_sound - first_picture
        assert -0.01 < lag < 0.09, f"the sound arrived {lag * 1000:.0f} ms after its picture"
        bright = sum(1 for *_, v in got.pictures if v > 120)
        loud_seconds = sum(0.02 for *_, v in got.sounds if v > 0.3)  # 20 ms packets
        assert 16 <= bright <= 22, bright  # 0.8 s = 20 frames (lookahead padding, edges)
        assert 0.6 <= loud_seconds <= 0.9, loud_seconds

        stamps = [pts for _, pts, _ in got.pictures]
        steps = np.diff(stamps)
        assert np.all(steps % VIDEO_TICKS_PER_FRAME == 0) and np.all(steps > 0)
        sound_steps = np.diff([pts for _, pts, _ in got.sounds])
        assert np.median(sound_steps) == 960  # 20 ms at Opus's 48 kHz
    finally:
        await viewer.aclose()
        await peers.aclose()
        await session.aclose()
    assert webrtc_tasks() == []


async def test_the_microphone_is_what_the_avatar_hears() -> None:
    session = RealtimeSession(renderer=PaintRenderer(size=32), motion=PeakLookaheadStream())
    session.start()
    speech = np.concatenate([tone(1.5, 0.5), np.zeros(SAMPLE_RATE, np.float32)])
    peers, viewer = WebRtcPeers(), WebRtcViewer(microphone=PcmTrack(speech))
    states: set[str] = set()
    try:
        await _viewed(peers, session, viewer)

        def listening() -> bool:
            states.add(session.stats().state)
            return "listening" in states

        await viewer.wait_for("the avatar to listen", listening, 10)
        # the microphone was not said by the avatar: its own audio stayed silent
        assert all(v < 0.05 for *_, v in viewer.received.sounds)
    finally:
        await viewer.aclose()
        await peers.aclose()
        await session.aclose()
    assert webrtc_tasks() == []


async def test_peers_close_with_the_viewer_the_session_or_a_newer_offer() -> None:
    session = RealtimeSession(renderer=PaintRenderer(size=32), motion=PeakLookaheadStream())
    session.start()
    peers = WebRtcPeers()
    ended: list[str] = []
    first, second = WebRtcViewer(), WebRtcViewer()

    async def post_first(sdp: str) -> str:
        return await peers.connect("s1", session, sdp, on_end=lambda: ended.append("first"))

    async def post_second(sdp: str) -> str:
        return await peers.connect("s1", session, sdp, on_end=lambda: ended.append("second"))

    try:
        await first.connect(post_first)
        await first.wait_for("pictures", lambda: len(first.received.pictures) >= 5, 30)
        # a reconnecting browser: the newer offer replaces the connection
        await second.connect(post_second)
        await second.wait_for("pictures", lambda: len(second.received.pictures) >= 5, 30)
        assert len(peers) == 1 and ended == []  # the replaced one does not end the viewing

        # the viewer leaves: its peer notices (DTLS close) and goes
        await second.aclose()
        await second.wait_for("the server's peer to close", lambda: len(peers) == 0, 15)
        assert ended == ["second"]
        await asyncio.sleep(0.2)
        assert webrtc_tasks() == []

        # the session closes: the peer of a third viewer closes with it
        third = WebRtcViewer()
        await _viewed(peers, session, third)
        await session.aclose()
        await third.wait_for("the peer to close with the session", lambda: len(peers) == 0, 10)
        await third.aclose()
    finally:
        await first.aclose()
        await peers.aclose()
        await session.aclose()
    await asyncio.sleep(0.1)
    assert webrtc_tasks() == []


VANISHING_VIEWER = """
import asyncio, json, sys
from aiortc import RTCPeerConnection, RTCSessionDescription

async def main():
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    print(json.dumps(pc.localDescription.sdp), flush=True)
    answer = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await pc.setRemoteDescription(RTCSessionDescription(json.loads(answer), "answer"))
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_viewer_that_vanishes_without_a_goodbye_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A browser killed mid-call sends nothing more: ICE consent checks (RFC 7675) fail and the
    peer closes. aioice checks every 5 s and gives up after 6 misses (~30 s); checked here every
    0.2 s so that the test takes seconds."""
    import sys

    import aioice.ice

    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.2)
    session = RealtimeSession(renderer=PaintRenderer(size=32), motion=PeakLookaheadStream())
    session.start()
    peers, ended = WebRtcPeers(), asyncio.Event()
    viewer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", VANISHING_VIEWER,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert viewer.stdin is not None and viewer.stdout is not None
    try:
        offer = json.loads(await asyncio.wait_for(viewer.stdout.readline(), 30))
        answer = await peers.connect("s1", session, offer, on_end=ended.set)
        viewer.stdin.write((json.dumps(answer) + "\n").encode())
        await viewer.stdin.drain()
        peer = peers.peer("s1")
        assert peer is not None
        async with asyncio.timeout(30):
            while peer.frames_sent < 25:  # connected, frames flow to it
                await asyncio.sleep(0.1)
        viewer.kill()
        await asyncio.wait_for(ended.wait(), 10)
        assert len(peers) == 0
    finally:
        if viewer.returncode is None:
            viewer.kill()
        await viewer.wait()
        await peers.aclose()
        await session.aclose()
    await asyncio.sleep(0.1)
    assert webrtc_tasks() == []


def test_offers_it_cannot_answer_are_refused_with_the_reason() -> None:
    with pytest.raises(OfferError, match="must start with 'v=0'"):
        check_offer("hello")
    audio_only = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    with pytest.raises(OfferError, match="no video section"):
        check_offer(audio_only)
    with pytest.raises(OfferError, match="at most"):
        check_offer("v=0\r\n" + "a=x\r\n" * 20000)


async def test_vp8_is_chosen_even_when_the_browser_lists_h264_first() -> None:
    from aiortc import RTCPeerConnection, RTCRtpSender

    session = RealtimeSession(renderer=PaintRenderer(size=32), motion=PeakLookaheadStream())
    session.start()
    peers, browser = WebRtcPeers(), RTCPeerConnection()
    try:
        video = browser.addTransceiver("video", direction="recvonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        video.setCodecPreferences(sorted(codecs, key=lambda c: c.mimeType != "video/H264"))
        browser.addTransceiver("audio", direction="recvonly")
        await browser.setLocalDescription(await browser.createOffer())
        offer = browser.localDescription.sdp
        assert "H264/90000" in offer.split("VP8/90000")[0], "the offer should list H.264 first"
        answer = await peers.connect("s1", session, offer)
        video_section = answer.split("m=video")[1].split("m=")[0]
        first_payload = video_section.splitlines()[0].split()[2]  # " port proto pt..."
        assert f"a=rtpmap:{first_payload} VP8/90000" in video_section
    finally:
        await browser.close()
        await peers.aclose()
        await session.aclose()
    assert webrtc_tasks() == []
