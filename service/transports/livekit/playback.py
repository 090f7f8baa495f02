"""The agent's voice at full quality for the people in the room.

The face is animated from a 16 kHz copy of the agent's audio (the session's internal rate), but
listeners should hear what the agent's TTS made (24 kHz, 44.1 kHz, ...), not a 16 kHz copy. So
the original audio is also resampled up to the published rate and kept per utterance, and each
speech frame leaving the session takes its share of it: the same 40 ms, never more, never less
over an utterance (the rest of an utterance goes out with its last frame).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import av
import numpy as np

from audio.clocks import SAMPLE_RATE

PLAYBACK_RATE = 48_000
"""Published audio rate: WebRTC's own, so LiveKit does not resample again."""
if PLAYBACK_RATE % SAMPLE_RATE:
    raise ValueError(f"PLAYBACK_RATE {PLAYBACK_RATE} must be a multiple of {SAMPLE_RATE}")
OUT_PER_IN = PLAYBACK_RATE // SAMPLE_RATE  # 3 output samples per 16 kHz sample


@dataclass
class _Utterance:
    segment: int
    pieces: deque[np.ndarray] = field(default_factory=deque)  # int16 at PLAYBACK_RATE
    available: int = 0
    taken: int = 0  # samples handed out (or skipped) so far
    ended: bool = False
    rate: int | None = None
    resampler: av.AudioResampler | None = None

    def add(self, samples: np.ndarray) -> None:
        if samples.size:
            self.pieces.append(samples)
            self.available += samples.size

    def take(self, n: int) -> np.ndarray:
        out: list[np.ndarray] = []
        while n > 0 and self.pieces:
            head = self.pieces[0]
            if head.size <= n:
                out.append(self.pieces.popleft())
                n -= head.size
            else:
                out.append(head[:n])
                self.pieces[0] = head[n:]
                n = 0
        taken = np.concatenate(out) if out else np.zeros(0, np.int16)
        self.available -= taken.size
        self.taken += taken.size
        return taken


def _resample(resampler: av.AudioResampler, mono: np.ndarray | None, rate: int) -> np.ndarray:
    """(n,) int16 at ``rate`` (None flushes) -> int16 at PLAYBACK_RATE, what is ready now."""
    if mono is None:
        frames = resampler.resample(None)
    else:
        frame = av.AudioFrame.from_ndarray(mono[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        frames = resampler.resample(frame)
    pieces = [f.to_ndarray().reshape(-1) for f in frames]
    return np.concatenate(pieces).astype(np.int16) if pieces else np.zeros(0, np.int16)


class PlaybackAudio:
    """Utterances by the session's segment id; frames take their share by segment and offset,
    so a frame the session dropped (nobody was consuming) does not shift the audio after it."""

    def __init__(self) -> None:
        self._utterances: deque[_Utterance] = deque()

    def push(self, pcm: np.ndarray, sample_rate: int, *, segment: int) -> None:
        """(n, channels) int16 of utterance ``segment`` (the session's ``segment_id``)."""
        mono = pcm.mean(axis=1).astype(np.int16) if pcm.shape[1] > 1 else pcm[:, 0]
        if not self._utterances or self._utterances[-1].segment != segment:
            if self._utterances:
                self._flush(self._utterances[-1])
            self._utterances.append(_Utterance(segment))
        current = self._utterances[-1]
        if current.rate != sample_rate:
            self._flush(current)
            current.rate = sample_rate
            current.resampler = (
                None
                if sample_rate == PLAYBACK_RATE
                else av.AudioResampler(format="s16", layout="mono", rate=PLAYBACK_RATE)
            )
        if current.resampler is None:
            current.add(mono.copy())
        else:
            current.add(_resample(current.resampler, mono, sample_rate))

    def _flush(self, utterance: _Utterance) -> None:
        if utterance.resampler is not None and utterance.rate is not None:
            utterance.add(_resample(utterance.resampler, None, utterance.rate))
        utterance.resampler = None

    def end_segment(self) -> None:
        if self._utterances:
            self._flush(self._utterances[-1])

    def take(self, *, segment: int, offset: int, n_valid: int, last: bool) -> np.ndarray:
        """The published audio of a speech frame: ``n_valid`` 16 kHz samples starting
        ``offset`` samples into utterance ``segment``; with ``last``, all that is left of it.
        -> (m,) int16 at PLAYBACK_RATE"""
        while self._utterances and self._utterances[0].segment < segment:
            self._utterances.popleft()  # its frames were dropped or cut short
        if not self._utterances or self._utterances[0].segment != segment:
            return np.zeros(0, np.int16)
        head = self._utterances[0]
        skip = offset * OUT_PER_IN - head.taken
        if skip > 0:
            head.take(skip)  # frames before this one never left
        if last:
            self._flush(head)
            self._utterances.popleft()
            return head.take(head.available)
        return head.take(n_valid * OUT_PER_IN)

    def clear(self) -> None:
        """An interruption: nothing received so far will be played."""
        self._utterances.clear()
