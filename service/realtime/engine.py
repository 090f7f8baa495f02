"""The real-time session engine: one frame clock per session, audio and video leave together.

Every 40 ms the clock takes the next frame of queued speech (or silence), and the next frame of
partner audio, pushes both into the motion stream, renders the motion frame that comes out (off
the event loop: on threads of this process, or in a frame worker process of a ``FramePool``, see
``frames.FrameBackend``) and hands out the video frame together with the audio of the same frame.
With nothing queued the avatar keeps emitting frames: it listens to the partner stream or idles,
it never freezes.

The motion stream trails its input by ``latency_frames`` (its audio lookahead), so the audio of
each input frame waits in a short delay line and leaves with the video rendered for it. Speech
pushed in real time therefore leaves about lookahead + one frame + render time after it
arrived; speech pushed faster than real time (TTS) queues and plays at 25 fps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from audio.clocks import FPS, SAMPLES_PER_FRAME
from avatars.driver import MotionStream
from service.realtime import metrics
from service.realtime.clock import FrameClock
from service.realtime.departures import Departures
from service.realtime.events import EventHub, SessionEvent
from service.realtime.frames import (
    FrameBackend,
    FramePainter,
    InputSlot,
    OutputFrame,
    SessionStats,
)
from service.realtime.inflight import InFlight, RenderTracker
from service.realtime.ingest import PcmChunk
from service.realtime.options import SessionClosedError, SessionOptions
from service.realtime.partner import PartnerMix
from service.realtime.speech import SILENCE, SpeechQueue
from service.realtime.trace import TimingLog
from service.realtime.workers import FrameWorkers

log = logging.getLogger(__name__)


MISSED_EVENT_INTERVAL_S = 1.0


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


class RealtimeSession:
    """A live avatar: push audio in, iterate ``frames()`` out at 25 fps until ``aclose()``."""

    def __init__(
        self,
        *,
        renderer: FramePainter | None = None,
        motion: MotionStream | None = None,
        frames: FrameBackend | None = None,
        options: SessionOptions | None = None,
    ) -> None:
        """Either ``renderer`` and ``motion`` (run on threads of this process) or ``frames``
        (e.g. a ``FramePool`` worker's ``PooledFrames``). The service builds its sessions with
        ``factory.SessionFactory``; this constructor is the engine's own seam (and the tests')."""
        self.options = options or SessionOptions()
        if frames is not None:
            if renderer is not None or motion is not None:
                raise ValueError("give either frames or renderer and motion, not both")
            self._workers: FrameBackend = frames
        elif renderer is None or motion is None:
            raise ValueError("a session needs a renderer and a motion stream (or frames)")
        else:
            self._workers = FrameWorkers(motion=motion, renderer=renderer)
        self._speech = SpeechQueue(max_queued_seconds=self.options.max_queued_seconds)
        self._partner = PartnerMix(max_frames=self.options.max_partner_frames)
        self._delay: deque[InputSlot] = deque()
        self._in_flight: deque[InFlight] = deque()  # ticked, waiting for motion and picture
        self._in_flight_ready = asyncio.Event()
        self._frame_left = asyncio.Event()
        self._out: deque[OutputFrame] = deque()
        self._out_ready = asyncio.Event()
        self.events = EventHub()
        self._clock = FrameClock(
            fps=FPS,
            max_behind_frames=self.options.max_behind_frames,
            phase=self._workers.clock_phase,
            slack=self.options.frame_slack_ms / 1000.0,
        )
        self._last_video: np.ndarray | None = None
        self._renders = RenderTracker()
        self._late_render: asyncio.Future[np.ndarray] | None = None  # gave up waiting on it
        self._steps = 0
        self._stale = 0
        self._missed = 0  # late or stale (a frame that is both counts once)
        self._missed_reported = 0
        self._missed_reported_at = -MISSED_EVENT_INTERVAL_S
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._frames = 0
        self._dropped = 0
        self._departures = Departures(self.events, latency_window=self.options.latency_window)
        self._pending_triggers: list[str] = []
        self._failure: BaseException | None = None
        self._started = False
        self.timings: TimingLog | None = None
        """Per-frame timings, once ``record_timings()`` was called (a diagnostic)."""

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the frame clock (idempotent). Needs a running event loop."""
        if self._closed:
            raise SessionClosedError("session is closed")
        if self._started:
            return
        self._spawn(self._run_clock(), "clock")
        self._spawn(self._run_emitter(), "emitter")
        self._started = True
        metrics.LIVE_SESSIONS.inc()

    def record_timings(self, capacity: int = 10_000) -> TimingLog:
        """Keep the latest ``capacity`` frames' timings in ``self.timings`` from now on."""
        self.timings = TimingLog(capacity)
        self._workers.record_stamps()
        return self.timings

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=f"visavis-session-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("session task failed task=%s", task.get_name(), exc_info=task.exception())
            self._failure = task.exception()
            self._out_ready.set()  # wake the consumer so it sees the failure

    async def aclose(self) -> None:
        """Stop the clock, cancel every task, release the render thread."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            metrics.LIVE_SESSIONS.dec()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        steps = [frame.step for frame in self._in_flight]
        for step in steps:
            step.cancel()
        await asyncio.gather(*steps, return_exceptions=True)  # (their errors are the emitter's)
        self._workers.close()
        self._out_ready.set()
        self.events.close()
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def video_size(self) -> tuple[int, int] | None:
        """(width, height) of its pictures, when known before the first one."""
        return self._workers.video_size

    # ---- input -----------------------------------------------------------------------------

    def push_audio(
        self,
        chunk: bytes | bytearray | memoryview | np.ndarray,
        sample_rate: int,
        channels: int = 1,
    ) -> None:
        """Queue speech for the avatar to say; any chunk size, rate and channel count."""
        self._check_open()
        self._speech.push(chunk, sample_rate, channels)

    @property
    def segment_id(self) -> int:
        """Id of the utterance being received (or the last one); output frames carry it."""
        return self._speech.segment

    def end_segment(self) -> None:
        """The current utterance is complete: its last partial frame plays (padded) and ends it."""
        self._check_open()
        self._speech.end(self._queued_frames())

    def push_partner_audio(
        self,
        chunk: PcmChunk,
        sample_rate: int,
        channels: int = 1,
        *,
        source: str = "partner",
    ) -> None:
        """What the avatar hears, from one ``source`` (a participant); sources are mixed."""
        self._check_open()
        self._partner.push(chunk, sample_rate, channels, source=source)

    def remove_partner(self, source: str) -> None:
        """Forget a partner source (the participant left)."""
        self._partner.remove(source)

    def trigger(self, gesture: str) -> None:
        """Request a gesture (``nod``, ``smile``, ...) on the next frame."""
        self._check_open()
        if not gesture or len(gesture) > 64:
            raise ValueError(f"gesture must be a short name such as 'nod', got {gesture!r}")
        self._pending_triggers.append(gesture)

    def interrupt(self) -> float:
        """Drop all queued speech at once; returns the playback position (s) of the segment."""
        self._check_open()
        position = self._departures.position
        had_speech = (
            bool(len(self._speech))
            or any(item.speech for item in self._queued_frames())
            or self._departures.played_samples > 0
        )
        self._speech.clear()
        for item in self._queued_frames():  # in the lookahead, in flight, or not yet taken
            item.segment_end = False
            if item.speech:
                item.audio, item.speech, item.arrived_at = SILENCE, False, None
        if had_speech:
            self._departures.finish_playback(interrupted=True, position=position)
        return position

    def _queued_frames(self) -> list[InputSlot | OutputFrame]:
        """Audio taken from the speech queue but not yet by the consumer, oldest first: waiting
        for the consumer, then ticked and being drawn, then in the lookahead."""
        in_flight = [frame.slot for frame in self._in_flight]
        return [*self._out, *in_flight, *self._delay]

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosedError("session is closed")

    # ---- output ----------------------------------------------------------------------------

    async def frames(self) -> AsyncIterator[OutputFrame]:
        """Frames as they leave, 25 per second, until the session closes."""
        while True:
            while not self._out:
                if self._closed:
                    return
                self._raise_if_failed()
                self._out_ready.clear()
                await self._out_ready.wait()
            frame = self._out.popleft()
            self._departures.depart(frame)
            yield frame

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise RuntimeError("the session's frame clock failed") from self._failure

    def stats(self) -> SessionStats:
        latencies = list(self._departures.latencies)
        return SessionStats(
            frames=self._frames,
            missed_deadlines=self._clock.missed,
            clock_restarts=self._clock.restarts,
            dropped_frames=self._dropped,
            stale_frames=self._stale,
            missed_frames=self._missed,
            queued_seconds=len(self._speech) / FPS,
            latency_ms_p50=_percentile(latencies, 50),
            latency_ms_p95=_percentile(latencies, 95),
            state=self._departures.state,
            latencies_ms=latencies,
        )

    # ---- the clock -------------------------------------------------------------------------

    async def _run_clock(self) -> None:
        """Every tick: the next input in, its step (motion, and maybe a picture) sent to the
        frame backend at once. The tick never waits for the backend: a slow round trip must not
        delay the next frame's step (that kept a busy machine's sessions behind for good)."""
        for _ in range(await self._workers.prime()):
            self._delay.append(InputSlot(SILENCE, False, 0, 0, None))
        while True:
            while len(self._in_flight) >= self.options.max_behind_frames:
                # the backend cannot keep up: tick again once frames leave (the clock then
                # restarts from now if it fell too far behind)
                self._frame_left.clear()
                await self._frame_left.wait()
            deadline = await self._clock.wait()
            woke = time.monotonic()
            self._clock.advance()
            slot = self._speech.next_frame()
            partner = self._partner.next_frame()
            triggers, self._pending_triggers = self._pending_triggers, []
            self._delay.append(slot)
            give_up = deadline + self._clock.period + self._clock.slack
            # a bounded number of renders in flight; none while earlier frames pile up (the
            # backend is behind: motion alone catches up fast) or for a frame already too late
            # to show its picture
            most = self._workers.max_renders_in_flight
            render = self._renders.in_flight() < most and (
                self._last_video is None or (len(self._in_flight) < most and woke < give_up)
            )
            step = asyncio.ensure_future(
                self._workers.step(slot.audio, partner, triggers, render=render)
            )
            if render:
                self._renders.add(step)
            self._steps += 1
            leaving = self._delay.popleft()
            self._in_flight.append(InFlight(leaving, deadline, woke, give_up, step, self._steps))
            self._in_flight_ready.set()

    async def _run_emitter(self) -> None:
        """Frames leave in order: each when its motion and picture are back, or with the
        previous picture once its deadline (the next tick + slack) has passed."""
        while True:
            while not self._in_flight:
                self._in_flight_ready.clear()
                await self._in_flight_ready.wait()
            frame = self._in_flight[0]
            result = await frame.step
            motion, rendering = result.motion, result.picture
            motion_at = time.monotonic()
            fresh = False
            if rendering is not None:
                self._late_render = None  # this one is newer
                budget: float | None = frame.give_up - motion_at
                if self._last_video is None:
                    budget = None  # nothing to show yet: the first frame waits
                done, _ = await asyncio.wait({rendering}, timeout=budget)
                if rendering in done:
                    self._last_video, fresh = rendering.result(), True
                else:
                    self._late_render = rendering  # the freshest picture once it is done
            elif self._late_render is not None and self._late_render.done():
                self._last_video, self._late_render = self._late_render.result(), None
            video_at = time.monotonic() if fresh else None
            self._in_flight.popleft()
            self._frame_left.set()
            if not fresh:
                self._stale += 1
            assert self._last_video is not None
            self._emit(frame.slot, motion, result.state, self._last_video)
            late = self._clock.sent(frame.deadline)
            metrics.FRAMES.inc()
            if late or not fresh:
                self._missed += 1
                metrics.MISSED_FRAMES.inc()
                self._report_missed()
            if self.timings is not None:
                stamps = self._workers.take_stamps(frame.step_number)
                self.timings.add(self._frames - 1, frame, motion_at, video_at, late, fresh, stamps)

    def _report_missed(self) -> None:
        """A ``missed_frames`` event at most once a second, with the count since the last."""
        now = time.monotonic()
        if now - self._missed_reported_at < MISSED_EVENT_INTERVAL_S:
            return
        since = self._missed - self._missed_reported
        self._missed_reported, self._missed_reported_at = self._missed, now
        self.events.publish(SessionEvent("missed_frames", {"count": since, "total": self._missed}))

    def _emit(self, slot: InputSlot, motion: np.ndarray, state: str, video: np.ndarray) -> None:
        frame = OutputFrame(
            video=video,
            audio=slot.audio,
            timestamp=self._frames / FPS,
            index=self._frames,
            speech=slot.speech,
            segment=slot.segment,
            segment_end=slot.segment_end,
            n_valid=slot.n_valid if slot.speech else SAMPLES_PER_FRAME,
            motion=motion,
            state=state,
            arrived_at=slot.arrived_at,
            offset=slot.offset,
        )
        self._frames += 1
        if len(self._out) >= self.options.output_queue_frames:
            # nobody is consuming: keep the newest, never block the clock
            self._departures.depart(self._out.popleft())
            self._dropped += 1
        self._out.append(frame)
        self._out_ready.set()
