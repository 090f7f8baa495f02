"""The weights in the repository: they load, and the jaw follows speech."""

from __future__ import annotations

import numpy as np
import pytest

from audio.clocks import FPS, SAMPLE_RATE
from avatars.driver import drive_offline
from avatars.model import WEIGHTS_DIR, load_motion_stream
from avatars.motion import index


def test_shipped_weights_follow_speech_and_listen_with_mouth_closed() -> None:
    from audio.tts import synthesize
    from avatars.teacher.visemes import mouth_motion

    speech = synthesize("Maybe we should walk to the park and buy some apples.", engine="espeak",
                        voice="en-GB-scotland+m7")  # a held-out voice  # fmt: skip
    silence = np.zeros(2 * SAMPLE_RATE, np.float32)
    own = np.concatenate([speech.samples, silence])
    partner = np.concatenate([np.zeros_like(speech.samples), speech.samples[: silence.shape[0]]])
    motion = drive_offline(load_motion_stream(seed=0), own, partner)
    jaw = motion[:, index("jawOpen")]
    n_speech = int(speech.duration * FPS)
    teacher = mouth_motion(speech.phonemes, motion.shape[0])[:, index("jawOpen")]
    assert np.corrcoef(jaw[:n_speech], teacher[:n_speech])[0, 1] > 0.3  # syllables line up
    assert jaw[:n_speech].max() > 0.2  # it opens while speaking
    listening = jaw[n_speech + 10 :]
    assert np.mean(listening < 0.05) > 0.9  # and stays closed while the partner speaks
    assert jaw[:n_speech].mean() > 4 * listening.mean()


def test_missing_weights_folder_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no world-model weights"):
        load_motion_stream(weights=tmp_path)
    assert (WEIGHTS_DIR / "config.json").is_file()


def test_shipped_weights_seal_the_lips_for_p_b_m_from_audio_alone() -> None:
    from audio.tts import synthesize
    from avatars.model.data import lips_closed
    from avatars.model.metrics import bilabial_closure

    speech = synthesize("Bob bought a big map, maybe but a bit pale.", engine="espeak",
                        voice="en-GB-scotland+m7")  # a held-out voice  # fmt: skip
    own = np.concatenate([speech.samples, np.zeros(SAMPLE_RATE, np.float32)])
    motion = drive_offline(load_motion_stream(seed=0), own)
    jaw = motion[:, index("jawOpen")]
    # The closure head, trained with the network, seals 9 of these 11 (0.73 of p/b/m on the
    # eval's held-out dialogues, on motion); the head trained on a frozen network sealed 2.
    assert bilabial_closure(jaw, speech.phonemes, 0.08) >= 0.6
    sealed = lips_closed(motion)
    assert 0 < sealed.sum() < 0.5 * int(speech.duration * FPS)  # seals, not a shut mouth
