"""The world model network and its streaming wrapper (random weights: fast, no training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audio.clocks import SAMPLES_PER_FRAME
from avatars.driver import drive_offline
from avatars.model import WorldModel, WorldModelConfig, WorldModelStream
from avatars.model.modeling import FrameInputs


def _inputs(config: WorldModelConfig, batch: int, frames: int, seed: int = 0) -> FrameInputs:
    g = torch.Generator().manual_seed(seed)
    rows = config.audio_rows
    return FrameInputs(
        self_mel=torch.randn(batch, frames, rows, config.n_mels, generator=g),
        partner_mel=torch.randn(batch, frames, rows, config.n_mels, generator=g),
        activity=torch.rand(batch, frames, 2, generator=g),
        state=torch.randint(0, config.n_states, (batch, frames), generator=g),
        prev_motion=torch.randn(batch, frames, config.num_channels, generator=g),
        style=torch.randn(batch, config.style_dim, generator=g),
        persona=torch.rand(batch, config.persona_dim, generator=g),
        event=torch.randint(0, config.n_events, (batch, frames), generator=g),
    )


def _frame(inputs: FrameInputs, t: int) -> FrameInputs:
    pick = slice(t, t + 1)
    return FrameInputs(
        self_mel=inputs.self_mel[:, pick], partner_mel=inputs.partner_mel[:, pick],
        activity=inputs.activity[:, pick], state=inputs.state[:, pick],
        prev_motion=inputs.prev_motion[:, pick], style=inputs.style, persona=inputs.persona,
        event=inputs.event[:, pick],
    )  # fmt: skip


@pytest.fixture(scope="module")
def small_model() -> WorldModel:
    torch.manual_seed(0)
    return WorldModel(WorldModelConfig(d_model=64, n_layers=2, n_heads=4, window=8)).eval()


def test_save_and_load_give_identical_outputs(tmp_path) -> None:
    config = WorldModelConfig(d_model=64, n_layers=2, n_heads=4, window=8,
                              motion_mean=[0.1] * 61, motion_std=[0.5] * 61)  # fmt: skip
    small_model = WorldModel(config).eval()
    small_model.save_pretrained(tmp_path, safe_serialization=True)
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "config.json").is_file()
    loaded = WorldModel.from_pretrained(tmp_path).eval()
    assert loaded.config.window == 8 and loaded.config.d_model == 64
    inputs = _inputs(small_model.config, 2, 12)
    with torch.no_grad():
        a, b = small_model(inputs), loaded(inputs)
    assert torch.equal(a.mean, b.mean) and torch.equal(a.log_scale, b.log_scale)
    frame = torch.full((61,), 0.6)  # normalisation statistics travel in the config
    assert torch.allclose(loaded.normalize_motion(frame), torch.full((61,), 1.0))
    assert torch.allclose(loaded.denormalize_motion(loaded.normalize_motion(frame)), frame)


def test_streaming_steps_equal_the_full_sequence_past_the_window(small_model: WorldModel) -> None:
    frames = 30  # well past the 8-frame window, so the ring buffer evicts
    inputs = _inputs(small_model.config, 2, frames, seed=1)
    with torch.no_grad():
        full = small_model(inputs)
        cache = small_model.new_cache(2)
        steps = [small_model.step(_frame(inputs, t), cache) for t in range(frames)]
    streamed = torch.cat([s.mean for s in steps], dim=1)
    assert torch.allclose(streamed, full.mean, atol=1e-4)
    assert torch.allclose(torch.cat([s.blink_logit for s in steps], 1), full.blink_logit, atol=1e-4)


def test_cache_stays_the_same_size_however_long_the_run(small_model: WorldModel) -> None:
    cache = small_model.new_cache(1)
    size = cache.nbytes()
    inputs = _inputs(small_model.config, 1, 1)
    with torch.no_grad():
        for _ in range(50):
            small_model.step(inputs, cache)
    assert cache.nbytes() == size
    assert cache.keys.shape[3] == small_model.config.window
    assert int(cache.positions.min()) == 50 - small_model.config.window  # only the last window


def test_streaming_inputs_equal_the_training_features_on_a_tts_clip(small_model: WorldModel) -> None:
    """What the stream feeds the network frame by frame is what training computes offline."""
    from audio.features import log_mel
    from audio.tts import synthesize
    from avatars.model.features import SILENCE_LOG_MEL, conversation_features, lookahead_windows

    speech = synthesize("Bring the maps, please.", engine="espeak").samples
    n = -(-speech.shape[0] // SAMPLES_PER_FRAME) + 6
    own = np.zeros(n * SAMPLES_PER_FRAME, np.float32)
    own[: speech.shape[0]] = speech
    partner = np.roll(own, 20 * SAMPLES_PER_FRAME)  # the partner answers over the end
    self_mel, partner_mel, activity, state = conversation_features(own, partner)
    # The offline mel is the front-end's own whole-track log-mel, in frames.
    np.testing.assert_allclose(self_mel, log_mel(own).reshape(n, 4, -1), atol=1e-4)
    np.testing.assert_allclose(partner_mel, log_mel(partner).reshape(n, 4, -1), atol=1e-4)
    assert activity[:, 0].max() > 0.9 and activity[-3:, 0].max() < 0.2  # silero hears the speech
    assert {1, 3} <= set(state.tolist())  # speaking, then overlap

    seen: list[FrameInputs] = []
    original_step = small_model.step

    def recording_step(inputs: FrameInputs, cache):  # type: ignore[no-untyped-def]
        seen.append(inputs)
        return original_step(inputs, cache)

    small_model.step = recording_step  # type: ignore[method-assign]
    try:
        drive_offline(WorldModelStream(model=small_model, seed=0), own, partner)
    finally:
        del small_model.step
    config = small_model.config
    silence = (SILENCE_LOG_MEL - config.mel_mean) / config.mel_std
    expected = lookahead_windows((self_mel - config.mel_mean) / config.mel_std,
                                 config.lookahead_frames, silence)  # fmt: skip
    streamed = torch.cat([i.self_mel[0] for i in seen]).numpy()  # (T, R, M)
    assert streamed.shape[0] == n
    # The last LOOKAHEAD frames are flushed with silence that the offline pad stands for.
    np.testing.assert_allclose(streamed[: n - 2], expected[: n - 2], atol=1e-4)
    np.testing.assert_allclose(torch.cat([i.activity[0] for i in seen]).numpy(), activity, atol=1e-4)
    np.testing.assert_array_equal(torch.cat([i.state[0] for i in seen]).numpy(), state)


def _speech(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    envelope = 0.5 * (1 + np.sin(np.arange(n) / 16000 * 2 * np.pi * 3))
    return (0.1 * envelope * rng.standard_normal(n)).astype(np.float32)


def test_same_seed_same_motion_other_seed_different(small_model: WorldModel) -> None:
    audio = _speech(2.0)

    def run(seed: int) -> np.ndarray:
        return drive_offline(WorldModelStream(model=small_model, seed=seed), audio)

    first, again, other = run(3), run(3), run(4)
    assert first.shape == (50, 61)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-3


def test_reset_with_seed_replays_the_same_motion(small_model: WorldModel) -> None:
    stream = WorldModelStream(model=small_model, seed=7)
    audio = _speech(1.0)
    first = drive_offline(stream, audio)
    stream.reset(seed=7)
    np.testing.assert_array_equal(first, drive_offline(stream, audio))


def test_bad_inputs_are_named(small_model: WorldModel) -> None:
    stream = WorldModelStream(model=small_model, seed=0)
    with pytest.raises(ValueError, match="unknown gesture 'wave'"):
        stream.trigger("wave")
    with pytest.raises(ValueError, match=r"\(640,\)"):
        stream.push(np.zeros(100, np.float32), np.zeros(640, np.float32))
    with pytest.raises(ValueError, match="temperature 5"):
        WorldModelStream(model=small_model, temperature=5)
    with pytest.raises(ValueError, match="persona trait smile=2"):
        WorldModelStream(model=small_model, persona={"smile": 2})
    with pytest.raises(ValueError, match="style vector"):
        WorldModelStream(model=small_model, style=[0.0, 1.0])
    stream.trigger("nod")  # a known event is accepted


def test_config_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="not divisible by n_heads"):
        WorldModelConfig(d_model=100, n_heads=3)
    with pytest.raises(ValueError, match="motion statistics"):
        WorldModelConfig(motion_mean=[0.0])
    with pytest.raises(ValueError, match=r"front-end 'energy-mel'.*retrain"):
        WorldModelConfig(front_end="energy-mel")  # weights of another front-end are refused
    with pytest.raises(ValueError, match=r"lip_closure_threshold 1\.5"):
        WorldModelConfig(lip_closure_threshold=1.5)


def test_saved_config_names_the_front_end_and_vad(tmp_path) -> None:
    import json

    from avatars.model.config import FRONT_END, VAD

    WorldModel(WorldModelConfig(d_model=64, n_layers=1, n_heads=4)).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["front_end"] == FRONT_END and saved["vad"] == VAD
    assert "silero" in VAD and "lip_closure_threshold" in saved


def test_closure_head_streams_like_the_full_sequence_and_old_weights_lack_it(tmp_path) -> None:
    torch.manual_seed(0)
    config = WorldModelConfig(d_model=64, n_layers=2, n_heads=4, window=8, lip_closure_head=True)
    model = WorldModel(config).eval()
    inputs = _inputs(config, 1, 12, seed=2)
    with torch.no_grad():
        full = model(inputs)
        cache = model.new_cache(1)
        steps = [model.step(_frame(inputs, t), cache) for t in range(12)]
    assert full.closure_logit is not None and full.closure_logit.shape == (1, 12)
    streamed = torch.cat([s.closure_logit for s in steps if s.closure_logit is not None], 1)
    assert torch.allclose(streamed, full.closure_logit, atol=1e-4)
    model.save_pretrained(tmp_path, safe_serialization=True)
    assert WorldModel.from_pretrained(tmp_path).config.lip_closure_head
    assert WorldModel(WorldModelConfig(d_model=64, n_layers=2, n_heads=4)).closure_head is None


def test_lips_seal_when_the_closure_head_fires() -> None:
    from avatars.model.stream import seal_lips
    from avatars.motion import index

    frame = np.zeros(61, np.float32)
    frame[index("jawOpen")], frame[index("mouthLowerDownLeft")] = 0.4, 0.2
    frame[index("headPitch")] = 3.0
    assert seal_lips(frame, False)[index("jawOpen")] == pytest.approx(0.4)  # not sealed: as is
    sealed = seal_lips(frame, True)
    assert sealed.shape == frame.shape
    assert sealed[index("jawOpen")] == 0.0 and sealed[index("mouthLowerDownLeft")] == 0.0
    assert sealed[index("mouthPressLeft")] == sealed[index("mouthPressRight")] > 0.3
    assert sealed[index("headPitch")] == 3.0  # only the mouth changes
    assert frame[index("jawOpen")] == pytest.approx(0.4)  # the input frame is left alone
    paths = seal_lips(np.stack([frame, frame, frame]), np.array([True, False, True]))
    np.testing.assert_array_equal(paths[:, index("jawOpen")], [0.0, np.float32(0.4), 0.0])


def test_a_seal_holds_until_the_probability_falls_below_the_release() -> None:
    from avatars.model.closure import sealed_track

    probs = np.array([0.1, 0.9, 0.6, 0.45, 0.2, 0.6, 0.9, 0.3], np.float32)
    np.testing.assert_array_equal(sealed_track(probs, 0.8, 0.8), [0, 1, 0, 0, 0, 0, 1, 0])
    # once sealed, 0.6 and 0.45 keep it sealed; 0.6 after an open frame does not seal again
    np.testing.assert_array_equal(sealed_track(probs, 0.8, 0.4), [0, 1, 1, 1, 0, 0, 1, 0])


def test_release_threshold_is_validated_and_defaults_to_the_closure_threshold() -> None:
    assert WorldModelConfig(lip_closure_threshold=0.7).lip_release == 0.7
    assert WorldModelConfig(lip_closure_threshold=0.7, lip_release_threshold=0.4).lip_release == 0.4
    with pytest.raises(ValueError, match=r"lip_release_threshold 0\.9 is outside \(0, lip_closure"):
        WorldModelConfig(lip_closure_threshold=0.7, lip_release_threshold=0.9)


def test_lips_closed_label_marks_pressed_shut_lips_only() -> None:
    from avatars.model.data import lips_closed
    from avatars.motion import index

    motion = np.zeros((4, 61), np.float32)
    motion[1, [index("mouthPressLeft"), index("mouthPressRight")]] = 0.45  # p/b/m
    motion[2, [index("mouthPressLeft"), index("mouthPressRight")]] = 0.45
    motion[2, index("jawOpen")] = 0.3  # pressed but open: not a seal
    motion[3, index("jawOpen")] = 0.0  # relaxed rest: closed but not pressed
    np.testing.assert_array_equal(lips_closed(motion), [0, 1, 0, 0])


def test_closure_threshold_is_chosen_between_vowels_and_bilabials() -> None:
    from audio.tts import PhonemeSpan
    from avatars.model.closure import choose_threshold, score_threshold

    # "ma ba ma": bilabials at 0.62-0.7, vowels at 0.3-0.4 in this made-up head's probabilities.
    spans = [PhonemeSpan("m", 0.0, 0.08), PhonemeSpan("aa", 0.08, 0.4),
             PhonemeSpan("b", 0.4, 0.48), PhonemeSpan("aa", 0.48, 0.8),
             PhonemeSpan("m", 0.8, 0.88), PhonemeSpan("aa", 0.88, 1.2)]  # fmt: skip
    probs = np.full(30, 0.35, np.float32)
    probs[[0, 1, 10, 11, 20, 21]] = [0.7, 0.62, 0.65, 0.6, 0.68, 0.66]
    choice = choose_threshold([probs], [spans])
    assert 0.4 <= choice.threshold <= 0.6
    assert choice.release == choice.threshold  # hysteresis gains nothing here: none is used
    assert choice.bilabial_sealed == 1.0 and choice.vowel_frames_sealed == 0.0
    everything = score_threshold([probs], [spans], 0.2)  # too low: every vowel frame shuts
    assert everything.bilabial_sealed == 1.0 and everything.vowel_frames_sealed > 0.8
    with pytest.raises(ValueError, match="no closure probabilities"):
        choose_threshold([np.zeros(0, np.float32)], [spans])


def test_hysteresis_is_chosen_when_a_closure_spans_two_phonemes() -> None:
    from audio.tts import PhonemeSpan
    from avatars.model.closure import choose_threshold

    # "number": the head is sure during the m (0.9) and less so in the b that follows (0.5),
    # which a vowel frame alone (0.55 after an open frame) never reaches when sealing anew.
    spans = [PhonemeSpan("n", 0.0, 0.08), PhonemeSpan("ah", 0.08, 0.4), PhonemeSpan("m", 0.4, 0.48),
             PhonemeSpan("b", 0.52, 0.56), PhonemeSpan("er", 0.56, 1.0)]  # fmt: skip
    probs = np.full(25, 0.1, np.float32)
    probs[[5, 20]] = 0.55  # lone vowel frames
    probs[[10, 11, 12, 13]] = [0.92, 0.9, 0.5, 0.5]
    choice = choose_threshold([probs], [spans])
    assert choice.bilabial_sealed == 1.0 and choice.vowel_frames_sealed == 0.0
    assert 0.55 < choice.threshold <= 0.9 and choice.release <= 0.5


def test_the_stream_seals_the_frames_its_hysteresis_says(monkeypatch) -> None:
    """Shipped network, thresholds set: the frames the seal changes are sealed_track of the
    stream's own closure probabilities, so what training chose is what plays."""
    from audio.tts import synthesize
    from avatars.model import load_motion_stream
    from avatars.model.closure import sealed_track

    shipped = load_motion_stream(seed=0).model
    audio = synthesize("Bob bought a big map, maybe a number.", engine="espeak",
                       voice="en-GB-scotland+m7").samples

    def run(threshold: float, release: float) -> tuple[np.ndarray, np.ndarray]:
        monkeypatch.setattr(shipped.config, "lip_closure_threshold", threshold)
        monkeypatch.setattr(shipped.config, "lip_release_threshold", release)
        stream = WorldModelStream(model=shipped, seed=0, record_closure=True)
        return drive_offline(stream, audio), np.asarray(stream.closure_probabilities)

    sealed, probs = run(0.9, 0.1)
    monkeypatch.setattr("avatars.model.stream.seal_lips", lambda frames, where: frames)
    never, _ = run(0.9, 0.1)  # the seal is not fed back: the rest of the motion is the same
    expected = sealed_track(probs, 0.9, 0.1)
    assert expected.sum() > sealed_track(probs, 0.9, 0.9).sum() > 0  # the hysteresis holds some
    np.testing.assert_array_equal(np.any(sealed != never, axis=1), expected)


def test_several_paths_sample_apart_from_the_same_audio() -> None:
    from avatars.model import load_motion_stream
    from avatars.motion import index

    stream = load_motion_stream(seed=0, paths=3)
    with pytest.raises(ValueError, match="use push_paths"):
        stream.push(np.zeros(SAMPLES_PER_FRAME, np.float32), np.zeros(SAMPLES_PER_FRAME, np.float32))
    audio = _speech(4.0).reshape(-1, SAMPLES_PER_FRAME)
    silence = np.zeros(SAMPLES_PER_FRAME, np.float32)
    frames = [f for f in (stream.push_paths(a, silence) for a in audio) if f is not None]
    frames += stream.flush()
    motion = np.stack(frames)  # (T, 3, C)
    assert motion.shape == (audio.shape[0], 3, 61)
    yaw = motion[:, :, index("headYaw")]
    assert np.abs(yaw[:, 0] - yaw[:, 1]).mean() > 0.2 and np.abs(yaw[:, 1] - yaw[:, 2]).mean() > 0.2
    jaw = motion[:, :, index("jawOpen")]  # articulation at the mean: the mouth speaks alike
    assert min(np.corrcoef(jaw[:, 0], jaw[:, k])[0, 1] for k in (1, 2)) > 0.8
    with pytest.raises(ValueError, match="exactly 1 with record_closure"):
        WorldModelStream(model=stream.model, paths=2, record_closure=True)


def test_closure_probabilities_are_kept_only_when_asked() -> None:
    """A live session runs for hours: by default the stream keeps nothing per frame."""
    from avatars.model import load_motion_stream

    shipped = load_motion_stream(seed=0).model
    audio = _speech(1.0)
    live = WorldModelStream(model=shipped, seed=0)
    recording = WorldModelStream(model=shipped, seed=0, record_closure=True)
    frames = drive_offline(live, audio)
    np.testing.assert_array_equal(frames, drive_offline(recording, audio))
    assert live.closure_probabilities == []
    assert len(recording.closure_probabilities) == frames.shape[0] == 25
