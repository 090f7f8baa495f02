import numpy as np
import pytest

from audio.clocks import N_MELS
from avatars.model.augment import VoiceAugment, warp_mel


def _peak_track(bin_: int) -> np.ndarray:
    rows = np.zeros((3, 4, N_MELS), np.float32)  # (T, rows, mels)
    rows[..., bin_] = 1.0
    return rows


def test_unit_warp_leaves_the_features_alone() -> None:
    mel = np.random.default_rng(0).normal(size=(5, 4, N_MELS)).astype(np.float32)
    np.testing.assert_allclose(warp_mel(mel, 1.0), mel, atol=1e-6)


def test_a_shorter_vocal_tract_moves_a_formant_up_and_a_longer_one_down() -> None:
    mel = _peak_track(40)
    assert int(warp_mel(mel, 1.12)[0, 0].argmax()) > 40
    assert int(warp_mel(mel, 0.88)[0, 0].argmax()) < 40
    assert warp_mel(mel, 1.12).shape == mel.shape


def test_warp_refuses_rows_of_another_width_and_bad_factors() -> None:
    with pytest.raises(ValueError, match="width 40"):
        warp_mel(np.zeros((2, 40), np.float32), 1.0)
    with pytest.raises(ValueError, match="positive"):
        warp_mel(np.zeros((2, N_MELS), np.float32), 0.0)
    with pytest.raises(ValueError, match=r"warp 0\.7"):
        VoiceAugment(warp=0.7)


def test_augment_draws_another_voice_per_crop() -> None:
    mel = np.random.default_rng(1).normal(size=(8, 4, N_MELS)).astype(np.float32)
    augment = VoiceAugment(warp=0.15, mask_bins=8, mask_probability=1.0)
    rng = np.random.default_rng(2)
    first, second = augment(mel, rng), augment(mel, rng)
    assert first.shape == mel.shape and first.dtype == np.float32
    assert not np.allclose(first, second)
    assert not np.allclose(first, mel)
