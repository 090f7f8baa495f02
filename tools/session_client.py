"""One user of a live session, as the capacity bench (``tools.session_bench``) runs it: in its
own process, against a running service, through the public API only.

It plays a conversation in turns: the avatar's speech is pushed over HTTP in 200 ms chunks as a
streaming TTS would (each chunk when it is due, ``end`` on an utterance's last one), the
partner's microphone is streamed over HTTP in 200 ms chunks all the time (speech during the
partner's turns, room noise otherwise), and the frames are read over the WebSocket as they come.
It reports what it saw: frames per second, gaps, and each speech frame's latency from the moment
its audio had been pushed to the moment the frame arrived here.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from audio.clocks import SAMPLE_RATE

CHUNK_S = 0.2
TURN_S = 3.0
"""The avatar speaks for a turn, then the partner does."""
DEAD_S = 1.0
"""A session that says it is open and sends no frame for this long has a dead loop."""


@dataclass
class ClientReport:
    frames: int = 0
    seconds: float = 0.0
    gaps_over_100ms: int = 0
    longest_gap_ms: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    http_errors: int = 0
    close: str | None = None
    dead_loops: int = 0
    """Times no frame came for over a second while the session said it was open."""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _speech(seconds: float, seed: int) -> np.ndarray:
    """Speech-like int16 audio at 16 kHz: syllable-rate bursts of a voiced tone."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)), 0, None) ** 0.5
    voiced = np.sin(2 * np.pi * 140 * t) + 0.4 * np.sin(2 * np.pi * 280 * t)
    noise = rng.standard_normal(t.size) * 0.02
    return (np.clip(0.35 * envelope * voiced + noise, -1, 1) * 32767).astype("<i2")


class _Conversation:
    def __init__(self, url: str, headers: dict[str, str], session_id: str, seed: int) -> None:
        import httpx

        self.http = httpx.AsyncClient(base_url=url, headers=headers, timeout=10.0)
        self.path = f"/v1/sessions/{session_id}"
        self.seed = seed
        self.report = ClientReport()
        self.pushed: dict[tuple[int, int], float] = {}  # (utterance, chunk) -> pushed at
        self.started = time.monotonic()

    async def _post(self, path: str, body: bytes, **params: Any) -> None:
        try:
            response = await self.http.post(
                f"{self.path}/{path}", params=params, content=body,
                headers={"Content-Type": "audio/L16"},
            )  # fmt: skip
            if response.status_code >= 400:
                self.report.http_errors += 1
        except Exception:  # the bench counts what a user would see fail
            self.report.http_errors += 1

    async def speak(self, until: float) -> None:
        """Utterances of TURN_S in 200 ms chunks when due, one turn on, one turn off."""
        chunk = int(CHUNK_S * SAMPLE_RATE)
        utterance = 0
        turn_start = self.started
        while turn_start + TURN_S <= until:
            utterance += 1
            pcm = _speech(TURN_S, self.seed * 1000 + utterance)
            chunks = [pcm[k : k + chunk] for k in range(0, pcm.size, chunk)]
            for k, part in enumerate(chunks):
                await _sleep_until(turn_start + k * CHUNK_S)
                last = k == len(chunks) - 1
                await self._post("audio", part.tobytes(), sample_rate=SAMPLE_RATE, end=last)
                self.pushed[(utterance, k)] = time.monotonic()
            turn_start += 2 * TURN_S

    async def listen(self, until: float) -> None:
        """The partner's microphone, streamed all the time: speech in the partner's turns."""
        chunk = int(CHUNK_S * SAMPLE_RATE)
        rng = np.random.default_rng(self.seed)
        voice = _speech(TURN_S, self.seed + 7)
        k = 0
        while (due := self.started + k * CHUNK_S) < until:
            await _sleep_until(due)
            in_turn = (k * CHUNK_S) % (2 * TURN_S)
            if in_turn >= TURN_S:  # the partner's turn
                start = int((in_turn - TURN_S) * SAMPLE_RATE)
                part = voice[start : start + chunk]
            else:
                part = (rng.standard_normal(chunk) * 60).astype("<i2")
            await self._post("partner-audio", part.tobytes(), sample_rate=SAMPLE_RATE)
            k += 1

    async def watch(self, ws: Any, until: float) -> None:
        chunk = int(CHUNK_S * SAMPLE_RATE)
        segments: dict[int, int] = {}  # segment id -> its utterance number (1, 2, ...)
        played: dict[int, int] = {}  # segment -> samples seen (when the header has no offset)
        last: float | None = None
        first: float | None = None
        stalled = False
        while (now := time.monotonic()) < until:
            try:
                message = await asyncio.wait_for(ws.recv(), timeout=min(DEAD_S, until - now))
            except TimeoutError:
                if time.monotonic() >= until:
                    break
                if not stalled and await self._says_open():
                    self.report.dead_loops += 1  # open, and silent for over a second
                stalled = True
                continue
            stalled = False
            arrived = time.monotonic()
            first = arrived if first is None else first
            if last is not None:
                gap = (arrived - last) * 1000
                self.report.longest_gap_ms = max(self.report.longest_gap_ms, gap)
                self.report.gaps_over_100ms += gap > 100
            last = arrived
            self.report.frames += 1
            header_len = struct.unpack_from("<I", message)[0]
            header = json.loads(message[8 : 8 + header_len])
            if not header["speech"]:
                continue
            segment = header["segment"]
            utterance = segments.setdefault(segment, len(segments) + 1)
            offset = header.get("offset", played.get(segment, 0))
            played[segment] = offset + header["n_valid"]
            pushed = self.pushed.get((utterance, (played[segment] - 1) // chunk))
            if pushed is not None:
                self.report.latencies_ms.append((arrived - pushed) * 1000)
        if first is not None and last is not None:
            self.report.seconds = last - first

    async def _says_open(self) -> bool:
        try:
            response = await self.http.get(self.path)
            return bool(response.json().get("status") == "open")
        except Exception:
            return False


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def converse(
    url: str, headers: dict[str, str], session_id: str, seconds: float, seed: int
) -> ClientReport:
    import websockets

    conversation = _Conversation(url, headers, session_id, seed)
    ws_url = url.replace("http://", "ws://") + f"/v1/sessions/{session_id}/stream"
    try:
        async with websockets.connect(ws_url, additional_headers=headers, max_size=None) as ws:
            conversation.started = time.monotonic()
            until = conversation.started + seconds
            # bounded: a request that never returns must not keep the report from the bench
            await asyncio.wait_for(
                asyncio.gather(
                    conversation.watch(ws, until),
                    conversation.speak(until),
                    conversation.listen(until),
                ),
                timeout=seconds + 30.0,
            )
    except Exception as exc:  # reported, not raised: the bench prints what users saw
        conversation.report.close = f"{type(exc).__name__}: {exc}"
    else:
        conversation.report.close = _close_of(ws)
    finally:
        await conversation.http.aclose()
    return conversation.report


def _close_of(ws: Any) -> str | None:
    """How the server closed the stream, if it did before the client left."""
    code, reason = ws.close_code, ws.close_reason
    if code is None or (code == 1000 and not reason):
        return None
    return f"closed {code} {reason}"


def run_client(
    url: str, headers: dict[str, str], session_id: str, seconds: float, seed: int, out: Any
) -> None:
    """A client process's main: converse, then put the report (a dict) on ``out``."""
    report = asyncio.run(converse(url, headers, session_id, seconds, seed))
    out.put(asdict(report))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
