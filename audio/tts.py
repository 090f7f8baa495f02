"""Local text-to-speech with phoneme timings: espeak-ng (C library) and piper (joe-us voice).

Both engines return 16 kHz audio and contiguous phoneme spans in the shared set
(``audio.phonemes``), covering the audio from 0 to its end, ``sil`` where nothing is said.
"""

from __future__ import annotations

import logging

from audio.clocks import SAMPLE_RATE
from audio.errors import AudioError
from audio.phonemes import from_espeak
from audio.resample import resample
from audio.speech import PhonemeSpan, Speech, spans_from_starts

__all__ = ["ENGINES", "PhonemeSpan", "Speech", "list_variants", "list_voices", "synthesize"]

log = logging.getLogger(__name__)

ENGINES = ("espeak", "piper")
MAX_TEXT_CHARS = 10_000
RATE_RANGE = (0.5, 2.5)
PITCH_RANGE = (0.5, 2.0)


def _check_options(text: str, engine: str, rate: float, pitch: float) -> None:
    if engine not in ENGINES:
        raise AudioError(f"unknown TTS engine {engine!r}; accepted: {', '.join(ENGINES)}")
    if not isinstance(text, str) or not text.strip():
        raise AudioError("text to speak is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise AudioError(f"text is {len(text)} characters, more than the limit of {MAX_TEXT_CHARS}")
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise AudioError(
            f"rate {rate} is outside the accepted range {RATE_RANGE[0]}..{RATE_RANGE[1]}"
        )
    if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
        raise AudioError(
            f"pitch {pitch} is outside the accepted range {PITCH_RANGE[0]}..{PITCH_RANGE[1]}"
        )


def _espeak(text: str, voice: str | None, rate: float, pitch: float) -> Speech:
    from audio import espeak

    raw = espeak.engine().synthesize(text, voice or espeak.DEFAULT_VOICE, rate, pitch)
    samples = resample(raw.samples, raw.sample_rate)
    duration = samples.shape[0] / SAMPLE_RATE
    events = ((from_espeak(name), start) for name, start in raw.events)
    return Speech(samples=samples, phonemes=spans_from_starts(events, duration))


def synthesize(
    text: str,
    *,
    engine: str = "espeak",
    voice: str | None = None,
    rate: float = 1.0,
    pitch: float = 1.0,
) -> Speech:
    """Speak ``text``; 16 kHz audio and its phoneme spans.

    rate: speed relative to the engine's normal (2.0 = twice as fast); pitch: relative to the
    voice's normal. voice: engine-specific (see ``list_voices``); None picks the default.
    """
    _check_options(text, engine, rate, pitch)
    if engine == "espeak":
        speech = _espeak(text, voice, rate, pitch)
    else:
        from audio.piper_tts import synthesize_piper

        speech = synthesize_piper(text, voice=voice, rate=rate, pitch=pitch)
    log.debug(
        "synthesized engine=%s seconds=%.2f phonemes=%d",
        engine,
        speech.duration,
        len(speech.phonemes),
    )
    return speech


def list_variants() -> list[str]:
    """espeak-ng voice variants: any voice + ``+variant`` (e.g. ``en-us+f3``, ``en-us+m7``)."""
    from audio import espeak

    return espeak.engine().variants()


def list_voices(engine: str = "espeak") -> list[str]:
    if engine == "espeak":
        from audio import espeak

        return espeak.engine().voices()
    if engine == "piper":
        from audio.piper_tts import piper_voices

        return piper_voices()
    raise AudioError(f"unknown TTS engine {engine!r}; accepted: {', '.join(ENGINES)}")
