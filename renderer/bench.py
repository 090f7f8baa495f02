"""``make bench`` (renderer part): milliseconds per frame on one thread, and character load time.

Times are CPU time of the rendering thread (``time.thread_time``), so that other work on a shared machine (and idle BLAS threads)
does not inflate them; the wall-clock total is printed too.

``python -m renderer.bench`` prints each number. Motion is a talking-like sequence (jaw, lips,
blinks, brows, head within ±12°), so the mouth interior and lids are drawn in many frames.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from avatars.character import Character
from avatars.face import FaceMeasurer
from avatars.motion import index
from renderer import SIZES, FrameRenderer, Renderer, make_renderer

N_FRAMES = 100


def talking_motion(renderer: FrameRenderer, n_frames: int = N_FRAMES, seed: int = 0) -> np.ndarray:
    """(T, 61) plausible speech-like motion around the character's rest frame."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / 25.0
    motion = np.repeat(renderer.rest_motion()[None], n_frames, axis=0)
    motion[:, index("jawOpen")] = np.clip(0.35 + 0.35 * np.sin(2 * np.pi * 3.1 * t), 0, 1)
    motion[:, index("mouthFunnel")] = np.clip(0.4 * np.sin(2 * np.pi * 1.3 * t), 0, 1)
    motion[:, index("mouthSmileLeft")] = motion[:, index("mouthSmileRight")] = 0.3
    blink = (np.arange(n_frames) % 40) < 4
    motion[:, index("eyeBlinkLeft")] = motion[:, index("eyeBlinkRight")] = blink
    motion[:, index("browInnerUp")] = np.clip(0.5 * np.sin(2 * np.pi * 0.7 * t), 0, 1)
    motion[:, index("headYaw")] = 12 * np.sin(2 * np.pi * 0.3 * t)
    motion[:, index("headPitch")] = 6 * np.sin(2 * np.pi * 0.5 * t) + rng.normal(0, 0.3, n_frames)
    motion[:, index("headRoll")] = 4 * np.sin(2 * np.pi * 0.2 * t)
    return motion.astype(np.float32)


def _time_render(renderer: Renderer, motion: np.ndarray) -> dict[str, float]:
    """CPU milliseconds per frame (this process's time: robust on a shared machine), by stage,
    and the wall-clock total."""
    warp_s = paint_s = 0.0
    renderer.render(motion[0])  # warm-up
    wall = time.perf_counter()
    for frame in motion:
        t0 = time.thread_time()
        xy = renderer.vertex_positions(frame)
        out = renderer.warp(frame, xy)
        t1 = time.thread_time()
        renderer.paint(out, frame, xy)
        paint_s += time.thread_time() - t1
        warp_s += t1 - t0
    wall_s = time.perf_counter() - wall
    n = len(motion)
    return {"warp": 1e3 * warp_s / n, "mouth_eyes": 1e3 * paint_s / n,
            "total": 1e3 * (warp_s + paint_s) / n, "total_wall": 1e3 * wall_s / n}  # fmt: skip


def run() -> dict[str, float]:
    cv2.setNumThreads(1)
    from skimage import data

    results: dict[str, float] = {}
    with FaceMeasurer() as measurer:
        started = time.perf_counter()
        character = Character.from_image(np.ascontiguousarray(data.astronaut()), measurer=measurer)
        results["character_build_ms"] = 1e3 * (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as tmp:
        character.save(Path(tmp) / "c")
        Character.load(Path(tmp) / "c")  # file cache warm
        started = time.thread_time()
        loaded = Character.load(Path(tmp) / "c")
        results["character_load_ms"] = 1e3 * (time.thread_time() - started)
    for label in SIZES:
        size = label
        started = time.thread_time()
        renderer = make_renderer(loaded, size=size)
        assert isinstance(renderer, Renderer)  # its stages are timed one by one
        results[f"renderer_init_{label}_ms"] = 1e3 * (time.thread_time() - started)
        for part, ms in _time_render(renderer, talking_motion(renderer)).items():
            results[f"render_{label}_{part}_ms_per_frame"] = ms
    for key, value in results.items():
        print(f"renderer {key}: {value:.2f}")
    return results


if __name__ == "__main__":
    run()
