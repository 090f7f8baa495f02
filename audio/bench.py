"""``make bench`` (audio part): features + VAD for both streams per 40 ms frame, on one thread."""

from __future__ import annotations

import time

import numpy as np

from audio.clocks import SAMPLE_RATE, SAMPLES_PER_FRAME

GOAL_MS_PER_FRAME = 1.0


def _speechlike(seconds: float) -> np.ndarray:
    from audio.tts import synthesize

    speech = synthesize(
        "Peter bought five apples. Then he walked home, slowly, humming a tune."
    ).samples
    reps = int(np.ceil(seconds * SAMPLE_RATE / speech.shape[0]))
    return np.tile(speech, reps)[: int(seconds * SAMPLE_RATE)]


def _time_per_frame(step, frames: np.ndarray, partner: np.ndarray, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Best of ``repeats`` passes (the machine is shared; the best pass is the code's own cost)."""
    for k in range(10):  # warm-up
        step(frames[k], partner[k])
    passes = []
    for _ in range(repeats):
        started = time.perf_counter()
        for own, other in zip(frames, partner, strict=True):
            step(own, other)
        passes.append((time.perf_counter() - started) * 1000 / frames.shape[0])
    return min(passes)


def _tts_real_time_factors() -> dict[str, float]:
    from audio.tts import synthesize

    text = "The quick brown fox jumps over the lazy dog. How are you doing today, my friend?"
    factors: dict[str, float] = {}
    for engine in ("espeak", "piper"):
        synthesize("Warm up.", engine=engine)  # loads the engine
        started = time.perf_counter()
        speech = synthesize(text, engine=engine)
        factors[f"audio_tts_{engine}_rtf"] = (time.perf_counter() - started) / speech.duration
    return factors


def run() -> dict[str, float]:
    import torch

    from audio.analyzer import StreamAnalyzer
    from audio.features import StreamingLogMel
    from audio.vad import StreamingVad

    torch.set_num_threads(1)
    seconds = 10.0
    n = int(seconds * SAMPLE_RATE) // SAMPLES_PER_FRAME
    own = _speechlike(seconds)[: n * SAMPLES_PER_FRAME].reshape(n, SAMPLES_PER_FRAME)
    rng = np.random.default_rng(0)
    partner = (
        np.roll(own, n // 2, axis=0) * 0.5
        + rng.standard_normal(own.shape).astype(np.float32) * 0.003
    )

    mel_a, mel_b = StreamingLogMel(), StreamingLogMel()
    vad_a, vad_b, vad_pair = StreamingVad(), StreamingVad(), StreamingVad(streams=2)
    analyzer = StreamAnalyzer()
    results = {
        "audio_features_ms_per_frame_2_streams": _time_per_frame(
            lambda a, b: (mel_a.push(a), mel_b.push(b)), own, partner
        ),
        "audio_vad_ms_per_frame_2_streams": _time_per_frame(
            lambda a, b: (vad_a.push(a), vad_b.push(b)), own, partner
        ),
        "audio_vad_batched_ms_per_frame_2_streams": _time_per_frame(
            lambda a, b: vad_pair.push(np.stack([a, b])), own, partner
        ),
        "audio_analyzer_ms_per_frame_2_streams": _time_per_frame(analyzer.push, own, partner),
    }
    results.update(_tts_real_time_factors())
    for name, value in results.items():
        if name.endswith("_rtf"):
            print(
                f"{name} = {value:.3f} (seconds of compute per second of speech; piper uses onnxruntime's default threads)"
            )
            continue
        print(f"{name} = {value:.3f} ms (goal <= {GOAL_MS_PER_FRAME} ms per 40 ms frame, 1 thread)")
    return results


if __name__ == "__main__":
    run()
