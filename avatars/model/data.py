"""Corpus folders (teacher or capture) → training arrays for the world model."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio.clocks import SAMPLES_PER_FRAME
from audio.wav import read_wav
from avatars.character import STYLE_DIM
from avatars.model.features import cached_conversation_features
from avatars.model.stream import BLINK_CHANNELS
from avatars.motion import NUM_BLENDSHAPES, index, read_csv
from avatars.vocabulary import BLINK_SHAPE, PERSONA_FIELDS

_BLINK_DETECT = 0.5
_PRESS_CLOSED = 0.2  # the teacher presses 0.45 for p/b/m and never otherwise
_JAW_CLOSED = 0.08


def lips_closed(motion: np.ndarray) -> np.ndarray:
    """(T,) 1.0 where the lips are pressed together with the jaw shut, the seal of p/b/m."""
    press = motion[:, [index("mouthPressLeft"), index("mouthPressRight")]].mean(axis=1)
    return ((press > _PRESS_CLOSED) & (motion[:, index("jawOpen")] < _JAW_CLOSED)).astype(np.float32)


@dataclass
class Example:
    self_mel: np.ndarray  # (T, 4, M) log-mel rows as audio.analyzer gives them
    partner_mel: np.ndarray  # (T, 4, M)
    activity: np.ndarray  # (T, 2) silero speech probabilities of self and partner
    state: np.ndarray  # (T,) int64
    motion: np.ndarray  # (T, C) as written, blinks included (the model's previous-frame input)
    target: np.ndarray  # (T, C) blinks removed from the eyelids (the Gaussian's target)
    blink_onset: np.ndarray  # (T,) float32 1 at onsets
    lips_closed: np.ndarray  # (T,) float32 1 where the lips are pressed shut (p/b/m)
    event: np.ndarray  # (T,) int64
    style: np.ndarray  # (S,)
    persona: np.ndarray  # (P,)


def detect_blink_onsets(motion: np.ndarray) -> np.ndarray:
    """Frames where a blink starts, for footage without labels: the eyelids cross half-closed."""
    lids = motion[:, list(BLINK_CHANNELS)].mean(axis=1)
    closed = lids > _BLINK_DETECT
    starts = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
    return np.maximum(starts - 1, 0)


def remove_blinks(motion: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """The eyelid channels with each blink replaced by a line between its neighbours."""
    out = motion.copy()
    n = motion.shape[0]
    for onset in onsets:
        lo, hi = max(int(onset) - 1, 0), min(int(onset) + len(BLINK_SHAPE), n - 1)
        for channel in BLINK_CHANNELS:
            out[lo : hi + 1, channel] = np.linspace(motion[lo, channel], motion[hi, channel], hi - lo + 1)
    return out


def load_example(folder: Path) -> Example:
    """One corpus folder: self.wav, partner.wav, motion.csv, meta.json (optional for capture)."""
    motion = read_csv(folder / "motion.csv")
    own = read_wav(folder / "self.wav")
    other_path = folder / "partner.wav"
    other = read_wav(other_path) if other_path.is_file() else np.zeros_like(own)
    meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").is_file() else {}
    n = motion.shape[0]
    own = _fit(own, n)
    other = _fit(other, n)
    self_mel, partner_mel, activity, state = cached_conversation_features(folder, own, other)
    onsets = np.array(meta["blink_onsets"], np.int64) if "blink_onsets" in meta else (
        detect_blink_onsets(motion)
    )
    blink = np.zeros(n, np.float32)
    blink[onsets[onsets < n]] = 1.0
    event = np.zeros(n, np.int64)
    from avatars.vocabulary import EVENT_HOLD_FRAMES, EVENTS

    for frame, name in meta.get("events", []):
        event[frame : frame + EVENT_HOLD_FRAMES] = EVENTS.index(name)
    persona = meta.get("persona", {})
    style = (np.asarray(meta["style"], np.float32) if meta.get("source") == "capture" and "style" in meta
             else random_style(np.random.default_rng(zlib.crc32(folder.name.encode()))))  # fmt: skip
    return Example(
        self_mel=self_mel, partner_mel=partner_mel, activity=activity, state=state, motion=motion,
        target=remove_blinks(motion, onsets), blink_onset=blink, lips_closed=lips_closed(motion),
        event=event, style=style,
        persona=np.array([persona.get(k, 0.5) for k in PERSONA_FIELDS], np.float32),
    )  # fmt: skip


def random_style(rng: np.random.Generator) -> np.ndarray:
    """A plausible character style vector (resting expression, then face proportions).

    The teacher's motion does not depend on the face, so synthetic examples pair it with random
    faces and the model learns to leave the character's own style to the renderer; captured
    footage carries its real style vector.
    """
    expression = rng.beta(0.7, 6.0, size=NUM_BLENDSHAPES)
    proportions = rng.uniform(0.05, 1.2, size=STYLE_DIM - NUM_BLENDSHAPES)
    return np.concatenate([expression, proportions]).astype(np.float32)


def _fit(samples: np.ndarray, n_frames: int) -> np.ndarray:
    out = np.zeros(n_frames * SAMPLES_PER_FRAME, np.float32)
    k = min(out.shape[0], samples.shape[0])
    out[:k] = samples[:k]
    return out
