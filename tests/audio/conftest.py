"""Speech for the audio tests, synthesized once per session with local TTS."""

from __future__ import annotations

import pytest

from audio.tts import Speech, synthesize

SENTENCE = "Peter bought five apples. Then he walked home, slowly."


@pytest.fixture(scope="session")
def espeak_speech() -> Speech:
    return synthesize(SENTENCE)


@pytest.fixture(scope="session")
def piper_speech() -> Speech:
    return synthesize(SENTENCE, engine="piper")
