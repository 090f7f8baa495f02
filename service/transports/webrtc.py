"""The browser's WebRTC transport (``aiortc``): one peer connection per viewer carries the
session's pictures (VP8 or H.264, as the browser prefers) and its voice (Opus), and brings the
browser's microphone back as what the avatar hears.

Signalling is one request (``POST /v1/sessions/{id}/webrtc``): the browser gathers its ICE
candidates, sends the offer and gets the answer with ours (aiortc gathers before it answers:
no trickle). A new offer for a session replaces its previous connection: that is how a browser
reconnects after a network drop.

Timing: a pump takes each frame as it leaves the session (``SessionProtocol.frames()``, paced by
the session's frame clock) and hands its picture to the video track and its audio, as two
20 ms packets, to the audio track at the same moment. The picture is stamped with the frame's
index on the 90 kHz video clock, the audio with its sample count; the RTCP sender reports tie
both RTP clocks to the wall clock at the moment they leave, which is what the browser's lip sync
and jitter buffer work from. Tracks are fed, never polled: aiortc's senders pull as fast as
``recv()`` returns, so the session's clock is the only clock.

Everything a peer starts is a task in its set; ``aclose()`` (idempotent) cancels them, stops the
tracks and closes the connection. A peer also closes itself when the connection fails or
closes, when it does not connect within ``connect_timeout_s``, or when the session ends.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, OperationError
from aiortc.mediastreams import MediaStreamError

from audio.clocks import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from service.realtime.frames import OutputFrame
from service.realtime.options import SessionClosedError
from service.realtime.protocol import SessionProtocol
from service.settings import IceServer

log = logging.getLogger(__name__)

VIDEO_CLOCK_HZ = 90_000
"""RTP's clock for video (RFC 3551)."""
VIDEO_TICKS_PER_FRAME = VIDEO_CLOCK_HZ // FPS
PACKET_SAMPLES = SAMPLE_RATE // 50
"""20 ms of audio: one Opus packet per ``recv()`` (aiortc sends every payload an encode call
returns with that call's timestamp, so a 40 ms frame must go in as two halves)."""
MAX_QUEUED_PICTURES = 5
"""Pictures waiting for the video encoder; past this the oldest is dropped (its stamp goes with
it, so the picture timeline stays true)."""
MAX_QUEUED_PACKETS = 250
"""Audio packets (5 s) waiting for the audio sender. Audio is never dropped below this: the
Opus encoder stamps packets by count, so a dropped packet would shift the voice against the
picture."""
MAX_OFFER_CHARS = 65_536
CONNECT_TIMEOUT_S = 30.0
VIDEO_CODECS = ("video/VP8", "video/H264")
"""Ours in order of preference, whatever the browser's order: VP8 costs 5.3 ms of CPU per
512x512 frame here, aiortc's H.264 (libx264) 13.8 ms (measured: 150 frames each, load 5.8)."""
PARTNER_SOURCE = "webrtc"
"""The partner source name of the browser's microphone (``push_partner_audio``)."""


class OfferError(ValueError):
    """An SDP offer the transport cannot answer; ``str()`` says why and what is expected."""


def ice_server(server: IceServer) -> RTCIceServer:
    credential = server.credential.get_secret_value() if server.credential else None
    return RTCIceServer(urls=list(server.urls), username=server.username, credential=credential)


class FedTrack(MediaStreamTrack):
    """A track whose frames are put in by the pump; ``recv()`` waits for the next one."""

    def __init__(self, kind: str, *, max_queued: int) -> None:
        super().__init__()
        self.kind = kind
        self._queue: deque[av.VideoFrame | av.AudioFrame] = deque()
        self._max_queued = max_queued
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        if len(self._queue) >= self._max_queued:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(frame)
        self._ready.set()

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()  # wake a waiting recv() so that it ends


def video_frame(frame: OutputFrame, first_index: int) -> av.VideoFrame:
    """The frame's picture stamped on the 90 kHz clock, counted from this connection's first."""
    picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame.video), format="rgb24")
    picture.pts = (frame.index - first_index) * VIDEO_TICKS_PER_FRAME
    picture.time_base = fractions.Fraction(1, VIDEO_CLOCK_HZ)
    return picture


def audio_packets(frame: OutputFrame, first_index: int) -> list[av.AudioFrame]:
    """The frame's 40 ms of 16 kHz audio as 20 ms s16 mono frames, stamped by sample count."""
    pcm = (np.clip(frame.audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    start = (frame.index - first_index) * SAMPLES_PER_FRAME
    packets = []
    for offset in range(0, SAMPLES_PER_FRAME, PACKET_SAMPLES):
        packet = av.AudioFrame.from_ndarray(
            pcm[None, offset : offset + PACKET_SAMPLES], format="s16", layout="mono"
        )
        packet.sample_rate = SAMPLE_RATE
        packet.pts = start + offset
        packet.time_base = fractions.Fraction(1, SAMPLE_RATE)
        packets.append(packet)
    return packets


def preferred_video_codecs() -> list[Any]:
    """aiortc's video codecs, ours first in ``VIDEO_CODECS`` order, then their retransmission."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    ordered = [c for mime in VIDEO_CODECS for c in codecs if c.mimeType == mime]
    return ordered + [c for c in codecs if c.mimeType == "video/rtx"]


def check_offer(sdp: str) -> None:
    """OfferError unless ``sdp`` is a plausible offer with an audio and a video section."""
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise OfferError("the offer's SDP must start with 'v=0' (RTCSessionDescription.sdp)")
    if len(sdp) > MAX_OFFER_CHARS:
        raise OfferError(f"the offer's SDP has {len(sdp)} characters; at most {MAX_OFFER_CHARS}")
    kinds = {line.split()[0][2:] for line in sdp.splitlines() if line.startswith("m=")}
    missing = [kind for kind in ("video", "audio") if kind not in kinds]
    if missing:
        raise OfferError(
            f"the offer has no {' and no '.join(missing)} section: add a transceiver for "
            "video (recvonly) and audio (sendrecv, or recvonly without a microphone)"
        )


class WebRtcPeer:
    """One browser's peer connection to one session."""

    def __init__(
        self,
        *,
        session: SessionProtocol,
        ice_servers: Sequence[IceServer] = (),
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        on_frame: Callable[[], None] | None = None,
        on_closed: Callable[[WebRtcPeer], None] | None = None,
    ) -> None:
        self._session = session
        self._pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[ice_server(server) for server in ice_servers])
        )
        self._video = FedTrack("video", max_queued=MAX_QUEUED_PICTURES)
        self._audio = FedTrack("audio", max_queued=MAX_QUEUED_PACKETS)
        self._connect_timeout_s = connect_timeout_s
        self._on_frame = on_frame
        self._on_closed = on_closed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closer: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = asyncio.Event()
        self._pumping = False
        self.frames_sent = 0
        self.partner_packets = 0
        """Audio frames of the browser's microphone handed to the session."""

    @property
    def connection_state(self) -> str:
        return str(self._pc.connectionState)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def answer(self, offer_sdp: str) -> str:
        """The SDP answer to the browser's offer (with our ICE candidates); OfferError for an
        offer this transport cannot take."""
        check_offer(offer_sdp)
        self._pc.on("track", self._on_track)
        self._pc.on("connectionstatechange", self._on_state)
        # made before the offer is read, so that the offer's video section takes our codec order
        video = self._pc.addTransceiver(self._video, direction="sendonly")
        video.setCodecPreferences(preferred_video_codecs())
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except (ValueError, TypeError, OperationError, InvalidAccessError) as exc:
            raise OfferError(
                f"the offer could not be answered ({exc}); it needs VP8 or H.264 video and Opus "
                "audio"
            ) from None
        self._pc.addTrack(self._audio)
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        self._spawn(self._expire(), "connect-timeout")
        return str(self._pc.localDescription.sdp)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ---- events of the connection ---------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._listen(track), "microphone")

    def _on_state(self) -> None:
        state = self._pc.connectionState
        log.info("webrtc connection state=%s", state)
        if state == "connected" and not self._pumping:
            self._pumping = True
            self._spawn(self._pump(), "pump")
        elif state in ("failed", "closed"):
            self.close_soon()

    async def _expire(self) -> None:
        await asyncio.sleep(self._connect_timeout_s)
        if self._pc.connectionState != "connected":
            log.info("webrtc peer did not connect within %.0f s", self._connect_timeout_s)
            self.close_soon()

    # ---- media ----------------------------------------------------------------------------

    async def _pump(self) -> None:
        """The session's frames to the two tracks, picture and audio of a frame together."""
        first: int | None = None
        try:
            async for frame in self._session.frames():
                if first is None:
                    first = frame.index
                if self._on_frame is not None:
                    self._on_frame()
                self._video.put(video_frame(frame, first))
                for packet in audio_packets(frame, first):
                    self._audio.put(packet)
                self.frames_sent += 1
        except Exception:  # a failed session: its own error event says why
            log.warning("webrtc pump stopped: the session's frames failed", exc_info=True)
        log.info("webrtc pump ended frames=%d", self.frames_sent)
        self.close_soon()

    async def _listen(self, track: MediaStreamTrack) -> None:
        """The browser's microphone (Opus, decoded to 48 kHz) in, as the avatar's partner."""
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                channels = len(frame.layout.channels)
                pcm = frame.to_ndarray().reshape(-1, channels)  # packed s16 -> (n, channels)
                try:
                    self._session.push_partner_audio(
                        pcm, frame.sample_rate, channels, source=PARTNER_SOURCE
                    )
                except SessionClosedError:
                    return  # the pump ends too, and closes the peer
                except ValueError as exc:  # a packet the session cannot take
                    log.info("microphone audio dropped reason=%s", exc)
                    continue
                self.partner_packets += 1
        except MediaStreamError:
            pass  # the browser stopped sending
        finally:
            if not self._session.closed:
                self._session.remove_partner(PARTNER_SOURCE)

    # ---- lifecycle ------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=f"visavis-webrtc-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webrtc task failed task=%s", task.get_name(), exc_info=task.exception())
            self.close_soon()

    def close_soon(self) -> None:
        """Close from inside one of the peer's own callbacks or tasks."""
        if self._closer is None and not self._closing:
            self._closer = asyncio.create_task(self.aclose(), name="visavis-webrtc-close")

    async def aclose(self) -> None:
        """Cancel the peer's tasks, stop its tracks, close the connection (idempotent)."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        self._video.stop()
        self._audio.stop()
        await self._pc.close()
        self._closed.set()
        log.info("webrtc peer closed frames=%d", self.frames_sent)
        if self._on_closed is not None:
            self._on_closed(self)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result


class WebRtcPeers:
    """The open peer connections of this process, at most one per session."""

    def __init__(
        self, *, ice_servers: Sequence[IceServer] = (), connect_timeout_s: float = CONNECT_TIMEOUT_S
    ) -> None:
        self.ice_servers = tuple(ice_servers)
        self._connect_timeout_s = connect_timeout_s
        self._peers: dict[str, tuple[WebRtcPeer, Callable[[], None]]] = {}
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._peers)

    def serves(self, key: str) -> bool:
        """A peer connection carries the session ``key`` now."""
        return key in self._peers

    def peer(self, key: str) -> WebRtcPeer | None:
        entry = self._peers.get(key)
        return entry[0] if entry is not None else None

    async def connect(
        self,
        key: str,
        session: SessionProtocol,
        offer_sdp: str,
        *,
        on_frame: Callable[[], None] | None = None,
        on_end: Callable[[], None] | None = None,
    ) -> str:
        """Answer ``offer_sdp`` with a new peer for ``session`` (replacing the one ``key`` had;
        ``on_end`` runs once this peer closes, unless a newer one replaced it)."""
        async with self._lock:
            previous = self._peers.pop(key, None)
            if previous is not None:
                await previous[0].aclose()
            peer = WebRtcPeer(
                session=session, ice_servers=self.ice_servers,
                connect_timeout_s=self._connect_timeout_s, on_frame=on_frame,
                on_closed=lambda closed: self._ended(key, closed),
            )  # fmt: skip
            try:
                answer = await peer.answer(offer_sdp)
            except BaseException:
                await peer.aclose()
                raise
            self._peers[key] = (peer, on_end or (lambda: None))
            return answer

    def _ended(self, key: str, peer: WebRtcPeer) -> None:
        entry = self._peers.get(key)
        if entry is not None and entry[0] is peer:
            del self._peers[key]
            entry[1]()

    async def aclose(self) -> None:
        """Close every peer connection."""
        async with self._lock:
            peers = [peer for peer, _ in self._peers.values()]
        for peer in peers:
            await peer.aclose()
