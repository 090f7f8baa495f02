"""One face through the conversation: rendered, measured frame by frame, and its contact sheet."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audio.clocks import FPS
from avatars.character import Character
from avatars.face import FaceMeasurer
from avatars.images import find_face
from avatars.model.stream import WorldModelStream
from renderer import evaluate as closed_loop
from renderer.render import Renderer
from tools.faceset import metrics as fx
from tools.faceset.conversation import Conversation, drive
from tools.faceset.sheet import contact_sheet, posed

log = logging.getLogger(__name__)

# The closed-loop rows the issue holds to r >= 0.9 (jaw, blinks, smiles, brow), scripted and random.
GATED_CHANNELS = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight", "browInnerUp")
_SHARE_STRIDE = 2  # own-pixel share read on every other row and column: the same to ~1e-3
TURN_DEGREES = 18.0


@dataclass
class Setup:
    """What every face shares in one run."""

    size: str
    conversation: Conversation
    model: WorldModelStream
    image_measurer: FaceMeasurer
    dlib: fx.DlibFaces
    seed: int = 0
    dlib_frames: int = 16
    closed_loop: bool = True
    n_random: int = 120


@dataclass
class _Frames:
    """Per-frame readings of one face's conversation."""

    n: int
    share: np.ndarray = field(init=False)
    gap: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.share = np.full(self.n, np.nan)
        self.gap = np.full(self.n, np.nan)  # NaN where MediaPipe found no face


def _photo_facts(photo: np.ndarray, setup: Setup) -> dict[str, Any]:
    """The photo as MediaPipe sees it, and whether it could fill the output frame."""
    from renderer.framing import parse_size

    found = find_face(photo, setup.image_measurer)
    face = found.measurement
    frame = parse_size(setup.size)
    room = fx.photo_has_room((photo.shape[1], photo.shape[0]), fx.face_box(face), face.face_height, frame)
    return {"photo_size": [int(photo.shape[1]), int(photo.shape[0])], "faces_in_photo": found.faces_found,
            "face_px": round(face.face_height, 1), "yaw": round(face.head_yaw, 1),
            "pitch": round(face.head_pitch, 1), "roll": round(face.head_roll, 1),
            "photo_lip_gap": round(fx.lip_gap(face), 4), "room": room}  # fmt: skip


def _render_conversation(renderer: Renderer, motion: np.ndarray, setup: Setup, keep: set[int]
                         ) -> tuple[_Frames, dict[int, np.ndarray], dict[str, tuple[float, np.ndarray]]]:  # fmt: skip
    """Render every frame; read its own-pixel share and MediaPipe's lip gap. Returns the readings,
    the frames at ``keep`` (for dlib) and the sheet's picks (widest speaking and listening gaps)."""
    placement = fx.Placement.of(renderer)
    conv = setup.conversation
    frames = _Frames(motion.shape[0])
    kept: dict[int, np.ndarray] = {}
    picks: dict[str, tuple[float, np.ndarray]] = {}
    s = _SHARE_STRIDE
    with FaceMeasurer(video=True, max_faces=1) as video:
        for t, m in enumerate(motion):
            map_x, map_y = renderer.source_maps(m)
            frames.share[t] = fx.own_pixel_share(placement, map_x[::s, ::s], map_y[::s, ::s])
            image = renderer.render(m)
            face = video.measure(image, timestamp_ms=round(t * 1000 / FPS))
            if face is not None:
                frames.gap[t] = fx.lip_gap(face)
            if t in keep:
                kept[t] = image
            for phase, mask in (("speaking", conv.speaking), ("listening", conv.listening)):
                gap = frames.gap[t]
                if mask[t] and np.isfinite(gap) and gap > picks.get(phase, (-np.inf, image))[0]:
                    picks[phase] = (float(gap), image)
            if t == motion.shape[0] - 1:
                picks["idle"] = (float(frames.gap[t]), image)
    return frames, kept, picks


def _dlib_readings(photo: np.ndarray, kept: dict[int, np.ndarray], setup: Setup) -> dict[str, Any]:
    """Identity (descriptor distance from the photo), detection rate and dlib's listening lip gap."""
    dl = setup.dlib
    rect = dl.largest(photo, 1) or dl.largest(photo, 2)
    reference = dl.descriptor(photo, rect) if rect is not None else None
    distances, found, listening_closed = [], 0, []
    per_frame: dict[int, float] = {}
    for t, image in sorted(kept.items()):
        box = dl.largest(image, 1)
        if box is None:
            continue
        found += 1
        if reference is not None:
            distances.append(fx.identity_distance(reference, dl.descriptor(image, box)))
            per_frame[t] = round(distances[-1], 3)
        if setup.conversation.listening[t]:
            listening_closed.append(dl.lip_gap(image, box) < fx.DLIB_CLOSED_GAP)
    out: dict[str, Any] = {"dlib_found": found / max(len(kept), 1), "dlib_frames": len(kept),
                           "dlib_finds_photo": reference is not None}  # fmt: skip
    if distances:
        out |= {"identity_median": float(np.median(distances)), "identity_max": float(np.max(distances)),
                "identity_per_frame": per_frame}
    if listening_closed:
        out["dlib_listening_closed"] = float(np.mean(listening_closed))
    return out


def _closed_loop(name: str, photo: np.ndarray, setup: Setup) -> dict[str, Any]:
    """``renderer.evaluate``'s protocol on this face, reduced to the issue's goals."""
    rows = closed_loop.evaluate_face(name, photo, setup.image_measurer, n_random=setup.n_random)
    gated = {f"{kind}/{ch}/r": rows[f"{kind}/{ch}/r"] for kind in ("scripted", "random") for ch in GATED_CHANNELS}
    finite = {k: v for k, v in gated.items() if np.isfinite(v)}
    worst = min(finite, key=lambda k: finite[k]) if finite else "none measured"
    head = [rows[f"head/{axis}_deg"] for axis in closed_loop.HEAD_CHANNELS]
    return {"closed_loop_min_r": finite.get(worst, float("nan")), "closed_loop_worst": worst,
            "head_error_max_deg": float(np.nanmax(head)) if np.isfinite(head).any() else float("nan"),
            "closed_loop": rows}  # fmt: skip


def _sample(mask: np.ndarray, n: int) -> set[int]:
    """``n`` frame indices spread evenly over the frames where ``mask`` holds."""
    where = np.flatnonzero(mask)
    return set(where[np.linspace(0, len(where) - 1, min(n, len(where))).round().astype(int)].tolist()) if len(where) else set()


def evaluate_face(name: str, photo: np.ndarray, setup: Setup) -> tuple[dict[str, Any], np.ndarray]:
    """Every measure of one face, and its contact sheet (RGB)."""
    started = time.perf_counter()
    result: dict[str, Any] = _photo_facts(photo, setup)
    character = Character.from_image(photo, measurer=setup.image_measurer)
    renderer = Renderer(character, size=setup.size)
    conv = setup.conversation
    motion = drive(setup.model, character.style_vector(), conv, seed=setup.seed)
    # dlib reads a spread of all frames, half of them while listening
    keep = _sample(np.ones(conv.n_frames, bool), setup.dlib_frames // 2) | _sample(conv.listening, setup.dlib_frames // 2)
    frames, kept, picks = _render_conversation(renderer, motion, setup, keep)
    found = np.isfinite(frames.gap)
    listening = conv.listening & found
    result |= {
        "notes": list(character.notes),
        "own_pixel_min": float(np.nanmin(frames.share)), "own_pixel_mean": float(np.nanmean(frames.share)),
        "mediapipe_found": float(found.mean()),
        "listening_closed": float((frames.gap[listening] < fx.CLOSED_GAP).mean()) if listening.any() else float("nan"),
        "listening_gap_max": float(np.max(frames.gap[listening])) if listening.any() else float("nan"),
        "speaking_gap_p90": float(np.nanpercentile(frames.gap[conv.speaking & found], 90)) if (conv.speaking & found).any() else float("nan"),
        "frames": conv.n_frames,
    }  # fmt: skip
    result |= _dlib_readings(photo, kept, setup)
    rest = renderer.render(renderer.rest_motion())
    result["rest_lip_gap"] = _gap_of(rest, setup.image_measurer)
    if setup.closed_loop:
        result |= _closed_loop(name, photo, setup)
    tiles = [("photo", photo), ("rest", rest)]
    tiles += [(f"{phase} (widest lips {picks[phase][0]:.3f})", picks[phase][1])
              for phase in ("speaking", "listening") if phase in picks]  # fmt: skip
    tiles += [("idle (last frame)", picks["idle"][1])]
    tiles += [(f"turned yaw {-TURN_DEGREES:+.0f}", posed(renderer, headYaw=-TURN_DEGREES)),
              (f"turned yaw {TURN_DEGREES:+.0f}", posed(renderer, headYaw=TURN_DEGREES)),
              ("blink", posed(renderer, eyeBlinkLeft=1.0, eyeBlinkRight=1.0))]  # fmt: skip
    sheet = contact_sheet(f"{name}  {setup.size}  own px min {result['own_pixel_min']:.2f}", tiles, renderer.size)
    result["seconds"] = round(time.perf_counter() - started, 1)
    log.info("faceset face=%s seconds=%.1f", name, result["seconds"])
    return result, sheet


def _gap_of(image: np.ndarray, measurer: FaceMeasurer) -> float:
    face = measurer.measure(image)
    return float("nan") if face is None else round(fx.lip_gap(face), 4)
