"""A WebRTC viewer of a visavis session, in Python (aiortc): what a browser does, for tests and
for ``tools.transport_bench`` (which runs it as a process per session).

It offers to receive video and audio and to send a microphone track (``PcmTrack``: any 16 kHz
samples, paced in real time), posts the offer and reads what arrives: per picture its arrival
time, RTP stamp and mean brightness (and the latest picture), per audio frame its arrival, stamp
and loudness.

    python -m tools.webrtc_client --url http://127.0.0.1:8000 --key KEY --session SID --seconds 10
prints one JSON line with the counts when done.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from audio.clocks import SAMPLE_RATE

PACKET_SAMPLES = SAMPLE_RATE // 50  # 20 ms, as browsers send


class PcmTrack(MediaStreamTrack):
    """A microphone that plays ``samples`` (16 kHz float32) once in real time, then silence."""

    kind = "audio"

    def __init__(self, samples: np.ndarray, *, loop: bool = False) -> None:
        super().__init__()
        self._pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        self._repeat = loop
        self._sent = 0
        self._started: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._started is None:
            self._started = time.monotonic()
        due = self._started + self._sent / SAMPLE_RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        start = self._sent % len(self._pcm) if self._repeat else self._sent
        chunk = self._pcm[start : start + PACKET_SAMPLES]
        chunk = np.pad(chunk, (0, PACKET_SAMPLES - len(chunk)))
        frame = av.AudioFrame.from_ndarray(chunk[None], format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._sent += PACKET_SAMPLES
        return frame


@dataclass
class Received:
    """What arrived: (arrival monotonic s, RTP pts, value) per frame."""

    pictures: list[tuple[float, int, float]] = field(default_factory=list)
    """value: mean brightness 0..255."""
    sounds: list[tuple[float, int, float]] = field(default_factory=list)
    """value: RMS in [0, 1] of the frame (48 kHz as decoded)."""
    last_picture: np.ndarray | None = None
    size: tuple[int, int] | None = None


class WebRtcViewer:
    """An aiortc peer connection that receives a session and may send a microphone."""

    def __init__(self, *, microphone: MediaStreamTrack | None = None) -> None:
        self.pc = RTCPeerConnection()
        self.received = Received()
        self._tasks: set[asyncio.Task[None]] = set()
        self.pc.addTransceiver("video", direction="recvonly")
        if microphone is not None:
            self.pc.addTransceiver(microphone, direction="sendrecv")
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.on("track", self._on_track)

    async def connect(self, post_offer: Callable[[str], Awaitable[str]]) -> None:
        """Gather, hand the offer to ``post_offer`` (-> the answer's SDP), apply the answer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await post_offer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    def _on_track(self, track: MediaStreamTrack) -> None:
        reader = self._pictures(track) if track.kind == "video" else self._sounds(track)
        task = asyncio.create_task(reader)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pictures(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                rgb = frame.to_ndarray(format="rgb24")
                self.received.size = (frame.width, frame.height)
                self.received.last_picture = rgb
                self.received.pictures.append((time.monotonic(), int(frame.pts or 0),
                                               float(rgb.mean())))  # fmt: skip
        except MediaStreamError:
            return

    async def _sounds(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                pcm = frame.to_ndarray().astype(np.float32) / 32768.0
                rms = float(np.sqrt(np.mean(pcm**2))) if pcm.size else 0.0
                self.received.sounds.append((time.monotonic(), int(frame.pts or 0), rms))
        except MediaStreamError:
            return

    async def wait_for(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
            await asyncio.sleep(0.05)

    async def aclose(self) -> None:
        await self.pc.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    headers = {"X-API-Key": args.key}
    microphone = None
    if args.mic_wav:
        from audio.wav import read_wav

        microphone = PcmTrack(read_wav(args.mic_wav), loop=True)
    viewer = WebRtcViewer(microphone=microphone)
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=30) as http:

        async def post_offer(sdp: str) -> str:
            reply = await http.post(f"/v1/sessions/{args.session}/webrtc",
                                    json={"sdp": sdp, "type": "offer"})  # fmt: skip
            reply.raise_for_status()
            return str(reply.json()["sdp"])

        await viewer.connect(post_offer)
        await viewer.wait_for("the first picture", lambda: bool(viewer.received.pictures), 30)
        start = time.monotonic()
        pictures, sounds = len(viewer.received.pictures), len(viewer.received.sounds)
        await asyncio.sleep(args.seconds)
        elapsed = time.monotonic() - start
        result = {
            "fps": (len(viewer.received.pictures) - pictures) / elapsed,
            "audio_frames_per_s": (len(viewer.received.sounds) - sounds) / elapsed,
            "size": viewer.received.size,
        }
    await viewer.aclose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mic-wav", help="a 16 kHz WAV sent (looped) as the microphone")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
