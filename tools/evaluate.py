"""``make eval``: the world model on voices and sentences it never heard, rendered and measured.

    python -m tools.evaluate [--dialogues 2] [--seconds 40] [--long-minutes 60] [--out out/eval]

1. Held-out dialogues (espeak voices/variants and sentences not used in training, piper's joe on
   held-out sentences) drive the shipped model; its motion is rendered with the renderer and
   measured with MediaPipe: mouth aperture (inner-lip gap / face height), eyelids, head angles.
   Lip-sync: the lag maximising the aperture–openness cross-correlation, lip closure during p/b/m,
   vowel aperture vs openness. Listening: mouth closed, head never frozen, nods after the partner's
   phrase ends, blinks per minute in each state. The teacher's own motion is scored the same way
   (on motion, not video) as the ceiling.
2. A long run (``tools.longrun``: one minute of alternating turns looped, 256 sampled paths,
   motion only): per-minute mean and spread of every channel against minute one, pooled over the
   paths.
3. The renderer's closed-loop evaluation (``renderer.evaluate.run``) when it is built.
Prints a table and writes it to ``out/eval/eval.md`` (with ``eval.json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from audio.clocks import FPS
from audio.tts import PhonemeSpan
from avatars.driver import drive_offline
from avatars.model import metrics as mx
from avatars.model.stream import WorldModelStream, load_motion_stream
from avatars.motion import index, read_csv

log = logging.getLogger("tools.evaluate")
UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
MOTION_CLOSED_JAW = 0.08
"""On motion (not video) the lips count as closed below this jawOpen."""
TARGETS = {
    "lipsync_lag_frames": ("|lag| <= 1", lambda v: abs(v) <= 1),
    "bilabial_closed": (">= 0.90", lambda v: v >= 0.9),
    "vowel_openness_r": (">= 0.70", lambda v: v >= 0.7),
    "listening_mouth_closed": (">= 0.97", lambda v: v >= 0.97),
    "frozen_5s_windows": ("== 0", lambda v: v == 0),
    "nod_after_phrase_end": (">= 0.50", lambda v: v >= 0.5),
    "blinks_per_min_speaking": ("10-25", lambda v: 10 <= v <= 25),
    "blinks_per_min_listening": ("10-25", lambda v: 10 <= v <= 25),
    "blinks_per_min_idle": ("10-25", lambda v: 10 <= v <= 25),
    # The bar: every channel's per-minute mean and spread within 10% of minute one.
    "long_mean_within_10pct": ("== 1.00", lambda v: v >= 1.0),
    "long_spread_within_10pct": ("== 1.00", lambda v: v >= 1.0),
}


def _spans(rows: list) -> list[PhonemeSpan]:
    return [PhonemeSpan(p, float(a), float(b)) for p, a, b in rows]


class VideoMeasure:
    """Render motion with one character and measure every frame with MediaPipe."""

    def __init__(self, face: np.ndarray) -> None:
        from avatars.character import Character
        from avatars.face import FaceMeasurer
        from renderer import make_renderer

        self.measurer = FaceMeasurer(video=True, max_faces=1)
        self.renderer = make_renderer(Character.from_image(face), size="512")
        self.clock = 0
        rest = np.zeros(61, np.float32)
        closed = self._measure(np.tile(rest, (3, 1)))
        opened = rest.copy()
        opened[index("jawOpen")] = 0.35
        blink = rest.copy()
        blink[[index("eyeBlinkLeft"), index("eyeBlinkRight")]] = 1.0
        measured_open = self._measure(np.tile(opened, (3, 1)))
        measured_blink = self._measure(np.tile(blink, (3, 1)))
        rest_aperture, open_aperture = closed["aperture"][-1], measured_open["aperture"][-1]
        # Closed: within a fifth of the way from the rendered closed mouth to a modest opening.
        self.closed_below = float(rest_aperture + 0.2 * (open_aperture - rest_aperture))
        self.blink_threshold = float((closed["lids"][-1] + measured_blink["lids"][-1]) / 2)
        self.reference = closed["transform"]

    def _measure(self, motion: np.ndarray) -> dict:
        from avatars.face import relative_angles

        n = motion.shape[0]
        out = {"aperture": np.full(n, np.nan), "lids": np.full(n, np.nan),
               "angles": np.full((n, 3), np.nan)}  # fmt: skip
        for t, frame in enumerate(motion):
            face = self.measurer.measure(self.renderer.render(frame), timestamp_ms=self.clock * 40)
            self.clock += 1
            if face is None:
                continue
            gap = face.landmarks[LOWER_INNER_LIP, 1] - face.landmarks[UPPER_INNER_LIP, 1]
            out["aperture"][t] = max(float(gap), 0.0) / face.face_height
            out["lids"][t] = (face.blendshapes["eyeBlinkLeft"] + face.blendshapes["eyeBlinkRight"]) / 2
            reference = getattr(self, "reference", face.transform)
            out["angles"][t] = relative_angles(face.transform, reference)
            out["transform"] = face.transform
        return out

    def measure(self, motion: np.ndarray) -> dict:
        out = self._measure(motion)
        for key in ("aperture", "lids"):
            out[key] = _fill(out[key])
        return out


def _fill(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if ok.all() or not ok.any():
        return x
    return np.interp(np.arange(x.shape[0]), np.flatnonzero(ok), x[ok])


def score(aperture: np.ndarray, lids: np.ndarray, pitch: np.ndarray, angles: np.ndarray,
          meta: dict, closed_below: float, blink_threshold: float) -> dict:
    """Every per-dialogue metric from measured (or commanded) tracks."""
    n = aperture.shape[0]
    own, heard = _spans(meta["self_phonemes"]), _spans(meta["partner_phonemes"])
    speaking = mx.speaking_mask(own, n)
    listening = mx.speaking_mask(heard, n, hold_seconds=0.0) & ~speaking
    idle = ~speaking & ~listening
    target = mx.openness_track(own, n)
    ends = [e for e in mx.phrase_ends(heard) if not speaking[min(int(e * FPS), n - 1): int((e + 1) * FPS)].any()]
    onsets = mx.blink_onsets(lids, blink_threshold)
    result = {
        "lipsync_lag_frames": float(mx.best_lag(aperture, target, speaking)),
        "bilabial_closed": mx.bilabial_closure(aperture, own, closed_below),
        "vowel_peaks": mx.vowel_peaks(aperture, own),
        "listening_mouth_closed": float((aperture[listening] < closed_below).mean()) if listening.any() else float("nan"),
        "frozen_5s_windows": float(mx.frozen_windows(angles)),
        "nod_after_phrase_end": mx.nod_after(pitch, ends),
    }  # fmt: skip
    for name, mask in (("speaking", speaking), ("listening", listening), ("idle", idle)):
        minutes = mask.sum() / FPS / 60
        result[f"blinks_per_min_{name}"] = float(mask[onsets].sum() / minutes) if minutes > 0.1 else float("nan")
        result[f"minutes_{name}"] = float(minutes)
    return result


def _merge(rows: list[dict]) -> dict[str, float]:
    peaks = [p for r in rows for p in r.pop("vowel_peaks")]
    out = {"vowel_openness_r": mx.vowel_openness_r(peaks),
           "vowel_openness_r_single_vowels": mx.vowel_openness_r(peaks, per_vowel=False)}  # fmt: skip
    for k in rows[0]:
        values = np.array([r[k] for r in rows], float)
        if k.startswith("minutes_"):
            out[k] = float(np.nansum(values))
        elif k.startswith("blinks_per_min_"):
            minutes = np.array([r["minutes_" + k.removeprefix("blinks_per_min_")] for r in rows])
            ok = np.isfinite(values)
            out[k] = float((values[ok] * minutes[ok]).sum() / minutes[ok].sum()) if ok.any() else float("nan")
        elif k == "lipsync_lag_frames":
            out[k] = float(np.median(values))
        elif k == "frozen_5s_windows":
            out[k] = float(np.nansum(values))
        else:
            out[k] = float(np.nanmean(values))
    return out


def held_out_dialogues(args: argparse.Namespace, work: Path) -> list[Path]:
    from avatars.teacher.corpus import generate

    return generate(work / "eval_corpus", args.dialogues, seconds=args.seconds, seed=args.seed + 7919,
                    held_out=True)  # fmt: skip


def evaluate_dialogues(args: argparse.Namespace, stream: WorldModelStream, folders: list[Path]
                       ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    from audio.wav import read_wav

    face = _face(args.face)
    video = VideoMeasure(face)
    model_rows, motion_rows, teacher_rows = [], [], []
    for k, folder in enumerate(folders):
        meta = json.loads((folder / "meta.json").read_text())
        own, other = read_wav(folder / "self.wav"), read_wav(folder / "partner.wav")
        stream.reset(seed=args.seed + k)
        motion = drive_offline(stream, own, other)
        started = time.perf_counter()
        measured = video.measure(motion)
        log.info("eval rendered folder=%s frames=%d seconds=%.0f", folder.name, motion.shape[0],
                 time.perf_counter() - started)  # fmt: skip
        model_rows.append(score(measured["aperture"], measured["lids"], measured["angles"][:, 0],
                                measured["angles"], meta, video.closed_below, video.blink_threshold))  # fmt: skip
        motion_rows.append(_motion_score(motion, meta))
        teacher_rows.append(_motion_score(read_csv(folder / "motion.csv"), meta))
    video.measurer.close()
    return _merge(model_rows), _merge(motion_rows), _merge(teacher_rows)


def _motion_score(motion: np.ndarray, meta: dict) -> dict:
    """The same measures straight from motion channels (jawOpen as the aperture)."""
    head = motion[:, [index("headPitch"), index("headYaw"), index("headRoll")]]
    lids = motion[:, [index("eyeBlinkLeft"), index("eyeBlinkRight")]].mean(1)
    return score(motion[:, index("jawOpen")], lids, head[:, 0], head, meta, MOTION_CLOSED_JAW, 0.5)


def long_run(weights: Path | None, minutes: int, paths: int) -> dict[str, float | str]:
    """``tools.longrun`` on two worker processes, beside the rendering."""
    from tools import longrun

    result = longrun.long_run(weights, minutes=minutes, paths=paths, workers=2)
    return {f"long_{k}": v for k, v in result.items()}


def _face(name: str) -> np.ndarray:
    if name == "astronaut":
        from skimage import data

        return np.ascontiguousarray(data.astronaut())
    from PIL import Image

    return np.asarray(Image.open(name).convert("RGB"))


def table(model: Mapping[str, float | str], motion: Mapping[str, float], teacher: Mapping[str, float]) -> str:
    lines = ["| metric | model (rendered, MediaPipe) | model (motion) | teacher (motion) | target | pass |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip

    def cell(values: Mapping[str, float | str], key: str) -> str:
        if key not in values:
            return ""
        value = values[key]
        return value if isinstance(value, str) else f"{value:.3f}"

    for key in sorted(set(model) | set(teacher), key=lambda k: (k not in TARGETS, k)):
        target, check = TARGETS.get(key, ("", None))
        value = model.get(key, float("nan"))
        ok = "" if check is None or not np.isfinite(value) else ("yes" if check(value) else "NO")
        lines.append(f"| {key} | {cell(model, key)} | {cell(motion, key)} | {cell(teacher, key)} "
                     f"| {target} | {ok} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/eval"))
    parser.add_argument("--dialogues", type=int, default=2, help="held-out dialogues (each seen from both sides)")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--long-minutes", type=int, default=60, help="0 skips the long run")
    parser.add_argument("--long-paths", type=int, default=256, help="sampled paths pooled per minute of the long run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--face", default="astronaut", help="image to render with (default: skimage's astronaut)")
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--skip-renderer", action="store_true", help="skip renderer.evaluate")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import torch

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    stream = load_motion_stream(seed=args.seed, weights=args.weights)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the long run starts its own processes
        long = pool.submit(long_run, args.weights, args.long_minutes, args.long_paths) if args.long_minutes > 0 else None
        with tempfile.TemporaryDirectory() as tmp:
            folders = held_out_dialogues(args, Path(tmp))
            model, motion, teacher = evaluate_dialogues(args, stream, folders)
        scores: dict[str, float | str] = dict(model)
        if long is not None:
            scores |= long.result()
    report = table(scores, motion, teacher)
    print(report)
    config = stream.config
    text = (f"# World-model evaluation\n\n`python -m tools.evaluate` ({args.dialogues} held-out dialogues "
            f"x 2 sides, {args.seconds:g} s each; long run {args.long_minutes} min x {args.long_paths} paths)\n\n"
            f"Weights: {args.weights or 'shipped'} (front-end `{config.front_end}`, VAD `{config.vad}`, "
            f"lip seal / release thresholds {config.lip_closure_threshold:.2f} / {config.lip_release:.2f})\n\n"
            f"{report}\n")  # fmt: skip
    renderer_report = None
    if not args.skip_renderer:
        try:
            from renderer import evaluate as renderer_evaluate
        except ModuleNotFoundError:
            renderer_evaluate = None  # type: ignore[assignment]
            print("renderer.evaluate is not built yet", file=sys.stderr)
        if renderer_evaluate is not None:
            renderer_report = renderer_evaluate.run(args.out / "renderer")
            text += f"\n## Renderer (closed loop)\n\n```\n{json.dumps(renderer_report, indent=1)}\n```\n"
    (args.out / "eval.md").write_text(text)
    (args.out / "eval.json").write_text(json.dumps({"model": scores, "model_motion": motion, "teacher": teacher,
                                                    "renderer": renderer_report}, indent=2, default=str))  # fmt: skip
    print(f"written to {args.out / 'eval.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
