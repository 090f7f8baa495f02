"""Streaming inference: the world model behind the ``MotionStream`` interface, frame by frame.

Output trails input by LOOKAHEAD_FRAMES (the model sees 80 ms of audio ahead). Each step samples a
Gaussian per channel with a temperature from a seeded ``torch.Generator`` (mirrored channels such as
the two smiles share their noise so the face stays symmetric), and a Bernoulli blink onset that
starts the shared blink shape; a second Bernoulli head says when the lips seal for p/b/m, which
applies the shared closure shape (with hysteresis: ``avatars.model.closure``). The audio goes through ``audio.analyzer.StreamAnalyzer`` (the
same front-end and VAD the training features came from).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from audio.analyzer import StreamAnalyzer
from audio.clocks import LOOKAHEAD_FRAMES, SAMPLES_PER_FRAME
from avatars.model.closure import lips_sealed
from avatars.model.config import LIP_CLOSURE_SHAPE, articulation_channels
from avatars.model.features import FrameFeatures, frame_features
from avatars.model.modeling import FrameInputs, KVCache, WorldModel
from avatars.motion import CHANNELS, NUM_CHANNELS, clip, index
from avatars.vocabulary import (
    BLINK_SHAPE,
    DEFAULT_PERSONA,
    EVENT_HOLD_FRAMES,
    EVENTS,
    PERSONA_FIELDS,
    STATES,
    check_gesture,
    check_persona,
)

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).parent / "weights"
BLINK_CHANNELS = (index("eyeBlinkLeft"), index("eyeBlinkRight"))
BLINK_REFRACTORY_FRAMES = len(BLINK_SHAPE) + 3
_BLINK_SHAPE = np.asarray(BLINK_SHAPE, np.float32)
DEFAULT_TEMPERATURE = 1.0
"""At 1.0 the samples keep the spread of the training motion (head, brows, gaze); lower is calmer."""
ARTICULATION_TEMPERATURE = 0.0
"""Speech shapes (jaw and lips) relative to ``temperature``: 0 takes the predicted mean, which
follows vowel height best (measured: vowel-openness r 0.84 at 0 against 0.30 at 0.5); variety
comes from the head, brows, gaze, smiles and blinks."""

_CLOSURE_ZERO = np.array([index(name) for name, value in LIP_CLOSURE_SHAPE.items() if value == 0.0])
_CLOSURE_PRESS = np.array([index(name) for name, value in LIP_CLOSURE_SHAPE.items() if value > 0.0])
_CLOSURE_PRESS_TO = np.array([value for value in LIP_CLOSURE_SHAPE.values() if value > 0.0], np.float32)

_SIDEWAYS = {"jawLeft", "jawRight", "mouthLeft", "mouthRight"}  # opposite motions, never mirrored


def mirror_index() -> np.ndarray:
    """(C,) for each channel, the channel whose noise it shares (itself if unpaired)."""
    mirror = np.arange(NUM_CHANNELS)
    for i, name in enumerate(CHANNELS):
        if name in _SIDEWAYS or not name.endswith("Left"):
            continue
        partner = name[: -len("Left")] + "Right"
        if name.startswith("eyeLookIn"):
            partner = "eyeLookOutRight"  # eyes turn together: one eye in, the other out
        elif name.startswith("eyeLookOut"):
            partner = "eyeLookInRight"
        mirror[index(partner)] = i
    return mirror


def channel_temperature() -> np.ndarray:
    """(C,) relative sampling temperature per channel: articulation cooler than expression."""
    scale = np.ones(NUM_CHANNELS, np.float32)
    scale[articulation_channels()] = ARTICULATION_TEMPERATURE
    return scale


def persona_vector(persona: dict[str, float] | None) -> np.ndarray:
    values = {**DEFAULT_PERSONA, **(check_persona(persona) or {})}
    return np.array([values[k] for k in PERSONA_FIELDS], np.float32)


class WorldModelStream:
    """A ``MotionStream`` driven by the trained world model.

    ``paths`` > 1 samples that many independent motion paths from the same audio in one batched
    step (``push_paths``, (paths, C) per frame): the long-run evaluation pools hundreds of them.
    With one path ``push`` gives (C,) frames, bit-identical to what a batch of one would give.
    """

    latency_frames = LOOKAHEAD_FRAMES

    def __init__(
        self,
        *,
        model: WorldModel,
        seed: int | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        style: Sequence[float] | np.ndarray | None = None,
        persona: dict[str, float] | None = None,
        record_closure: bool = False,
        paths: int = 1,
    ) -> None:
        """``record_closure``: keep the closure head's probability of every frame (training
        picks its threshold on them); off for live use, where the list would grow for hours."""
        if not 0.0 <= temperature <= 2.0:
            raise ValueError(f"temperature {temperature} is outside [0, 2]")
        if paths < 1 or (record_closure and paths != 1):
            raise ValueError(f"paths={paths}: need at least 1 (exactly 1 with record_closure)")
        self.model = model.eval()
        self.device = model.device
        """Where the network runs (the model's device); sampling noise is drawn on the CPU, so a
        seed gives the same motion on any device up to the device's arithmetic."""
        self.config = model.config
        self.temperature = float(temperature)
        self.paths = int(paths)
        self._record_closure = record_closure
        style_arr = np.zeros(self.config.style_dim, np.float32) if style is None else np.asarray(
            style, np.float32
        )
        if style_arr.shape != (self.config.style_dim,):
            raise ValueError(
                f"style vector of shape {style_arr.shape}; this model takes ({self.config.style_dim},)"
            )
        self._style = self._on_device(style_arr)[None].expand(self.paths, -1)  # (B, S)
        self._persona = self._on_device(persona_vector(persona))[None].expand(self.paths, -1)  # (B, P)
        self._mirror = torch.from_numpy(mirror_index())
        self._channel_temperature = self.temperature * self._on_device(channel_temperature())
        self.reset(seed=seed)

    def reset(self, *, seed: int | None = None) -> None:
        self._generator = torch.Generator().manual_seed(
            int(seed) if seed is not None else int(torch.seed() % (2**63))
        )
        self._analyzer = StreamAnalyzer()
        self._pending: deque[FrameFeatures] = deque()
        self._cache: KVCache = self.model.new_cache(self.paths)
        neutral = self.model.normalize_motion(torch.zeros(NUM_CHANNELS, device=self.device))
        self._prev = neutral[None].repeat(self.paths, 1)  # (B, C) normalised
        self._blink_frame = np.full(self.paths, -1)  # frames into the current blink, -1 when none
        self._since_blink = np.full(self.paths, BLINK_REFRACTORY_FRAMES)
        self._sealed = np.zeros(self.paths, bool)
        self._event = 0
        self._event_left = 0
        self._state = STATES[0]
        self.frames_out = 0
        self.closure_probabilities: list[float] = []
        """The closure head's probability per frame out, when recorded (``record_closure``)."""

    def _on_device(self, array: np.ndarray) -> torch.Tensor:
        """A numpy array as a tensor on the model's device (no copy on the CPU)."""
        return torch.from_numpy(array).to(self.device)

    @property
    def state(self) -> str:
        """The conversation state its analyzer tracked at the frame of the latest motion
        returned (the state the model was conditioned on for it)."""
        return self._state

    def trigger(self, event: str) -> None:
        check_gesture(event)
        self._event, self._event_left = EVENTS.index(event), EVENT_HOLD_FRAMES

    def push(self, self_audio: np.ndarray, partner_audio: np.ndarray) -> np.ndarray | None:
        if self.paths != 1:
            raise ValueError(f"this stream samples {self.paths} paths: use push_paths")
        frames = self.push_paths(self_audio, partner_audio)
        return None if frames is None else frames[0]

    def push_paths(self, self_audio: np.ndarray, partner_audio: np.ndarray) -> np.ndarray | None:
        """Like ``push``, for every path: (paths, C) or None while the lookahead fills."""
        for name, frame in (("self_audio", self_audio), ("partner_audio", partner_audio)):
            if frame.shape != (SAMPLES_PER_FRAME,):
                raise ValueError(f"{name} frame of shape {frame.shape}; expected ({SAMPLES_PER_FRAME},)")
        self._pending.append(frame_features(self._analyzer.push(self_audio, partner_audio)))
        if len(self._pending) <= self.latency_frames:
            return None
        return self._step()

    def flush(self) -> list[np.ndarray]:
        silence = np.zeros(SAMPLES_PER_FRAME, np.float32)
        frames = []
        for _ in range(min(self.latency_frames, len(self._pending))):
            out = self.push_paths(silence, silence)
            if out is not None:
                frames.append(out[0] if self.paths == 1 else out)
        self._pending.clear()
        return frames

    def _window_mel(self, partner: bool) -> torch.Tensor:
        rows = np.concatenate([f.partner_mel if partner else f.self_mel for f in self._pending])  # (R, M)
        mel = (self._on_device(rows) - self.config.mel_mean) / self.config.mel_std
        return mel[None, None].expand(self.paths, -1, -1, -1)  # (B, 1, R, M)

    @torch.inference_mode()
    def _step(self) -> np.ndarray:
        """(B, C) the next motion frame of every path."""
        now, b = self._pending[0], self.paths
        self._state = STATES[now.state]
        inputs = FrameInputs(
            self_mel=self._window_mel(partner=False),
            partner_mel=self._window_mel(partner=True),
            activity=self._on_device(now.activity)[None, None].expand(b, -1, -1),
            state=torch.tensor([[now.state]], device=self.device).expand(b, -1),
            prev_motion=self._prev[:, None],
            style=self._style,
            persona=self._persona,
            event=torch.tensor(
                [[self._event if self._event_left > 0 else 0]], device=self.device
            ).expand(b, -1),
        )
        self._pending.popleft()
        self._event_left = max(0, self._event_left - 1)
        out = self.model.step(inputs, self._cache)
        mean, log_scale = out.mean[:, 0], out.log_scale[:, 0]  # (B, C)
        noise = torch.randn(b, NUM_CHANNELS, generator=self._generator)[:, self._mirror]
        noise = noise.to(self.device)
        sample = mean + self._channel_temperature * torch.exp(log_scale) * noise
        frames = self.model.denormalize_motion(sample).cpu().numpy()  # (B, C)
        frames = self._blink(frames, torch.sigmoid(out.blink_logit[:, 0]).cpu().numpy())
        if out.closure_logit is not None:
            probability = torch.sigmoid(out.closure_logit[:, 0]).cpu().numpy()  # (B,)
            if self._record_closure:
                self.closure_probabilities.append(float(probability[0]))
            self._sealed = np.asarray(lips_sealed(probability, self.config.lip_closure_threshold,
                                                  self.config.lip_release, self._sealed))  # fmt: skip
            frames = seal_lips(frames, self._sealed)
        frames = clip(frames)
        self._prev = self.model.normalize_motion(self._on_device(frames))
        self.frames_out += 1
        return frames

    def _blink(self, frames: np.ndarray, onset_probability: np.ndarray) -> np.ndarray:
        """frames (B, C), onset_probability (B,): start and play blinks, per path."""
        self._since_blink += 1
        ready = (self._blink_frame < 0) & (self._since_blink >= BLINK_REFRACTORY_FRAMES)
        if ready.any():
            draw = torch.rand(self.paths, generator=self._generator).numpy()
            start = ready & (draw < onset_probability)
            self._blink_frame[start], self._since_blink[start] = 0, 0
        playing = self._blink_frame >= 0
        if playing.any():
            lids = _BLINK_SHAPE[self._blink_frame[playing]]
            for channel in BLINK_CHANNELS:
                frames[playing, channel] = np.maximum(frames[playing, channel], lids)
            self._blink_frame[playing] += 1
            self._blink_frame[self._blink_frame >= len(BLINK_SHAPE)] = -1
        return frames


def seal_lips(frames: np.ndarray, sealed: np.ndarray | bool) -> np.ndarray:
    """``frames`` ((C,) or (B, C)) with the lips sealed (``LIP_CLOSURE_SHAPE``) where ``sealed``
    (one flag per frame). The closure head's probability is thresholded rather than sampled, like
    the rest of articulation (temperature 0), so a seed never adds or drops a p/b/m; training picks
    the thresholds on its validation split (``avatars.model.closure``)."""
    rows = np.broadcast_to(np.asarray(sealed, bool), np.shape(frames)[:-1] or (1,))
    if not rows.any():
        return frames  # most frames: nothing to seal, no copy
    out = np.array(frames, np.float32, copy=True, ndmin=2)  # (B, C)
    lips = out[rows]  # (k, C) copy
    lips[:, _CLOSURE_ZERO] = 0.0
    lips[:, _CLOSURE_PRESS] = np.maximum(lips[:, _CLOSURE_PRESS], _CLOSURE_PRESS_TO)
    out[rows] = lips
    return out.reshape(np.shape(frames))


def load_motion_stream(
    *,
    seed: int | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    weights: Path | None = None,
    style: Sequence[float] | np.ndarray | None = None,
    persona: dict[str, float] | None = None,
    paths: int = 1,
    device: str = "cpu",
) -> WorldModelStream:
    """The shipped world model (or ``weights``, a folder with config.json + model.safetensors),
    run on ``device`` (a torch device name: "cpu", "cuda", "cuda:1", "mps")."""
    try:
        target = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device {device!r} is not a torch device ({exc})") from None
    folder = Path(weights) if weights is not None else WEIGHTS_DIR
    if not (folder / "config.json").is_file() or not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"no world-model weights in {folder}: expected config.json and model.safetensors "
            "(run `make train` to build them)"
        )
    model = WorldModel.from_pretrained(folder)
    model.to(target)  # type: ignore[arg-type]  # nn.Module.to: in place (transformers' stub is narrower)
    log.info("world model loaded weights=%s params=%d", folder, model.num_parameters())
    return WorldModelStream(
        model=model, seed=seed, temperature=temperature, style=style, persona=persona, paths=paths
    )
