"""Speech with phoneme timings: what every TTS engine returns, and the span bookkeeping."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from audio.clocks import SAMPLE_RATE
from audio.phonemes import PHONEME_INDEX, SILENCE


@dataclass(frozen=True)
class PhonemeSpan:
    phoneme: str
    """One of ``audio.phonemes.PHONEMES``."""
    start: float
    """Seconds from the start of the audio."""
    end: float


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # (N,) float32 at SAMPLE_RATE
    phonemes: tuple[PhonemeSpan, ...]

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / SAMPLE_RATE

    def phoneme_at(self, seconds: float) -> str:
        """The phoneme sounding at ``seconds`` (``sil`` outside the speech)."""
        starts = [span.start for span in self.phonemes]
        i = bisect.bisect_right(starts, seconds) - 1
        if i < 0 or seconds >= self.phonemes[i].end:
            return SILENCE
        return self.phonemes[i].phoneme

    def frame_phonemes(self, fps: int) -> list[str]:
        """One phoneme per video frame, the one sounding at the frame's centre; as many frames
        as cover the audio."""
        n_frames = -(-self.samples.shape[0] * fps // SAMPLE_RATE)
        return [self.phoneme_at((k + 0.5) / fps) for k in range(n_frames)]


def spans_from_starts(
    starts: Iterable[tuple[tuple[str, ...], float]], duration: float
) -> tuple[PhonemeSpan, ...]:
    """Contiguous spans from (phonemes, onset seconds) events; each lasts until the next onset.

    An event mapping to several phonemes (e.g. espeak's ``A@`` = aa r) shares its time between
    them; silence fills the start; consecutive silences merge; empty spans are dropped.
    """
    events = [(phones, min(max(t, 0.0), duration)) for phones, t in starts if phones]
    bounds = [t for _, t in events] + [duration]
    spans: list[PhonemeSpan] = []
    if not events or events[0][1] > 0.0:
        first = events[0][1] if events else duration
        spans.append(PhonemeSpan(SILENCE, 0.0, first))
    for (phones, start), end in zip(events, bounds[1:], strict=True):
        step = (end - start) / len(phones)
        for k, phone in enumerate(phones):
            spans.append(PhonemeSpan(phone, start + k * step, start + (k + 1) * step))
    return tidy_spans(spans)


def tidy_spans(spans: list[PhonemeSpan]) -> tuple[PhonemeSpan, ...]:
    """Drop empty spans, merge consecutive silences, check the set."""
    out: list[PhonemeSpan] = []
    for span in spans:
        if span.end <= span.start:
            continue
        if out and out[-1].phoneme == SILENCE and span.phoneme == SILENCE:
            out[-1] = PhonemeSpan(SILENCE, out[-1].start, span.end)
        else:
            out.append(span)
    unknown = {span.phoneme for span in out} - PHONEME_INDEX.keys()
    if unknown:
        raise RuntimeError(f"phonemes outside the shared set: {sorted(unknown)}")
    return tuple(out)


def fill_gaps(spans: list[PhonemeSpan], duration: float) -> list[PhonemeSpan]:
    """Make spans contiguous from 0 to ``duration``: unmapped symbols leave holes, filled by
    stretching the span before; the last span ends at the audio's end."""
    out: list[PhonemeSpan] = []
    for span in spans:
        if out and span.start > out[-1].end:
            out[-1] = PhonemeSpan(out[-1].phoneme, out[-1].start, span.start)
        elif not out and span.start > 0:
            out.append(PhonemeSpan(SILENCE, 0.0, span.start))
        out.append(span)
    if not out:
        return [PhonemeSpan(SILENCE, 0.0, duration)]
    last = out[-1]
    out[-1] = PhonemeSpan(last.phoneme, last.start, max(duration, last.start))
    return out


# A stretch this long below this share of the peak envelope (5 ms smoothing) is a pause
QUIET_SECONDS, QUIET_SHARE = 0.15, 0.02  # longer than a stop consonant's closure


def silence_quiet_runs(
    spans: list[PhonemeSpan], samples: np.ndarray, sample_rate: int
) -> list[PhonemeSpan]:
    """``spans`` with every quiet stretch of ``samples`` (at least ``QUIET_SECONDS`` below
    ``QUIET_SHARE`` of the peak envelope) labelled silence, the spans around it cut back to it.
    A neural voice's alignments sometimes give a pause to the phoneme before it (piper, now and
    then, from its sampling noise): the mouth would hold that phoneme through the pause."""
    if samples.size == 0:
        return spans
    window = max(1, round(0.005 * sample_rate))
    envelope = np.sqrt(np.convolve(np.asarray(samples, np.float64) ** 2, np.ones(window) / window, "same"))
    quiet = (envelope < QUIET_SHARE * envelope.max()).astype(np.int8)
    edges = np.diff(np.concatenate([[0], quiet, [0]]))
    runs = [(a / sample_rate, b / sample_rate)
            for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
            if b - a >= QUIET_SECONDS * sample_rate]  # fmt: skip
    out = list(spans)
    for start, end in runs:
        kept: list[PhonemeSpan] = []
        for span in out:
            if span.end <= start or span.start >= end:
                kept.append(span)
                continue
            if span.start < start:
                kept.append(PhonemeSpan(span.phoneme, span.start, start))
            if span.end > end:
                kept.append(PhonemeSpan(span.phoneme, end, span.end))
        kept.append(PhonemeSpan(SILENCE, start, end))
        out = sorted(kept, key=lambda span: span.start)
    return out

