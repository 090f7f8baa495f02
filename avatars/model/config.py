"""The world model's configuration: saved as ``config.json`` beside its weights."""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig

from audio.clocks import FEATURES_PER_FRAME, FPS, LOOKAHEAD_FRAMES, N_MELS
from avatars.character import STYLE_DIM
from avatars.motion import CHANNELS, NUM_CHANNELS
from avatars.vocabulary import EVENTS, PERSONA_FIELDS, STATES

LIP_CLOSURE_SHAPE: dict[str, float] = {
    "jawOpen": 0.0, "mouthLowerDownLeft": 0.0, "mouthLowerDownRight": 0.0, "mouthUpperUpLeft": 0.0,
    "mouthUpperUpRight": 0.0, "mouthFunnel": 0.0, "mouthPressLeft": 0.45, "mouthPressRight": 0.45,
    "mouthRollLower": 0.15, "mouthRollUpper": 0.12,
}  # fmt: skip
"""The sealed lips of p/b/m (the teacher's bilabial target). Like the blink, the shape is shared
and the model's lip-closure head only decides *when*: the Gaussian mean alone smooths closures of
one or two frames away."""


FRONT_END = "audio.analyzer/log_mel-causal-whisper-v1"
"""The audio front-end the weights expect: ``audio.analyzer.StreamAnalyzer``'s causal log-mel rows
(``audio.features.log_mel``: slaney mels, whisper's log10 scaling, rows ending on hop boundaries)."""
VAD = "audio.vad/silero-onnx+audio.turns-v1"
"""The voice activity the weights expect: silero-vad's probabilities (``audio.vad``), the
conversation state from ``audio.turns.ConversationTracker`` with its default options."""
DEFAULT_LIP_CLOSURE_THRESHOLD = 0.5
"""Used until training chooses the threshold on its validation split (saved in the config)."""

_EXPRESSIVE_MOUTH = ("mouthSmile", "mouthFrown", "mouthDimple")


def articulation_channels() -> list[int]:
    """Channels that shape speech (jaw, lips, tongue), as opposed to expression (smile, frown)."""
    return [i for i, name in enumerate(CHANNELS)
            if name.startswith(("jaw", "mouth", "tongue")) and not name.startswith(_EXPRESSIVE_MOUTH)]  # fmt: skip


class WorldModelConfig(PretrainedConfig):
    """Sizes of the talking-head world model and the statistics it normalises with.

    ``motion_mean``/``motion_std`` (NUM_CHANNELS each) and ``mel_mean``/``mel_std`` (scalars) come
    from the training corpus; the defaults are the identity so an untrained model still runs.
    """

    model_type = "visavis_world_model"

    def __init__(
        self,
        *,
        d_model: int = 128,
        n_layers: int = 3,
        n_heads: int = 4,
        ff_mult: int = 3,
        window: int = 64,
        dropout: float = 0.0,
        n_mels: int = N_MELS,
        rows_per_frame: int = FEATURES_PER_FRAME,
        lookahead_frames: int = LOOKAHEAD_FRAMES,
        fps: int = FPS,
        num_channels: int = NUM_CHANNELS,
        style_dim: int = STYLE_DIM,
        persona_dim: int = len(PERSONA_FIELDS),
        n_events: int = len(EVENTS),
        n_states: int = len(STATES),
        min_log_scale: float = -6.0,
        motion_mean: list[float] | None = None,
        motion_std: list[float] | None = None,
        mel_mean: float = 0.0,
        mel_std: float = 1.0,
        prev_masked_channels: list[int] | None = None,
        lip_closure_head: bool = False,
        closure_context: int = 6,
        closure_dropout: float = 0.0,
        lip_closure_threshold: float = DEFAULT_LIP_CLOSURE_THRESHOLD,
        lip_release_threshold: float | None = None,
        front_end: str = FRONT_END,
        vad: str = VAD,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.ff_mult = ff_mult
        self.window = window
        self.dropout = dropout
        self.n_mels = n_mels
        self.rows_per_frame = rows_per_frame
        self.lookahead_frames = lookahead_frames
        self.fps = fps
        self.num_channels = num_channels
        self.style_dim = style_dim
        self.persona_dim = persona_dim
        self.n_events = n_events
        self.n_states = n_states
        self.min_log_scale = min_log_scale
        self.motion_mean = list(motion_mean) if motion_mean is not None else [0.0] * num_channels
        self.motion_std = list(motion_std) if motion_std is not None else [1.0] * num_channels
        self.mel_mean = float(mel_mean)
        self.mel_std = float(mel_std)
        # Channels hidden from the previous-frame input: articulation must come from the audio,
        # not from copying the last frame (which makes lips lag and slur when free-running).
        self.prev_masked_channels = list(prev_masked_channels or [])
        # Older weights have no lip-closure head; the flag keeps them loadable.
        self.lip_closure_head = bool(lip_closure_head)
        # Frames of the avatar's own audio (each with its lookahead) the closure head convolves.
        self.closure_context = int(closure_context)
        # Dropout on the closure head's inputs in training: its loss on held-back dialogues rose
        # over the last third of training while the training loss kept falling (it memorised).
        self.closure_dropout = float(closure_dropout)
        self.lip_closure_threshold = float(lip_closure_threshold)
        # Hysteresis: sealed lips stay sealed while the probability stays at or above this (one
        # closure spans m+b of "number" or the stop gap before a burst; a single threshold let
        # the seal drop a frame early). None: no hysteresis (weights from before it).
        self.lip_release_threshold = (
            float(lip_release_threshold) if lip_release_threshold is not None else None
        )
        self.front_end = str(front_end)
        self.vad = str(vad)
        self._validate()

    def _validate(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.window < 2:
            raise ValueError(f"window must be at least 2 frames, got {self.window}")
        if self.fps != FPS or self.rows_per_frame != FEATURES_PER_FRAME or self.n_mels != N_MELS:
            raise ValueError(
                f"model made for {self.fps} fps, {self.rows_per_frame}x{self.n_mels} features; "
                f"this build runs {FPS} fps, {FEATURES_PER_FRAME}x{N_MELS}"
            )
        if len(self.motion_mean) != self.num_channels or len(self.motion_std) != self.num_channels:
            raise ValueError(f"motion statistics must have {self.num_channels} channels")
        if any(not 0 <= c < self.num_channels for c in self.prev_masked_channels):
            raise ValueError(f"prev_masked_channels must be channel numbers below {self.num_channels}")
        if (self.front_end, self.vad) != (FRONT_END, VAD):
            raise ValueError(
                f"weights made for front-end {self.front_end!r} with VAD {self.vad!r}; this build "
                f"computes {FRONT_END!r} with {VAD!r}: retrain them (python -m avatars.train)"
            )
        if self.closure_context < 1:
            raise ValueError(f"closure_context must be at least 1 frame, got {self.closure_context}")
        if not 0.0 <= self.closure_dropout < 1.0:
            raise ValueError(f"closure_dropout {self.closure_dropout} is outside [0, 1)")
        if not 0.0 < self.lip_closure_threshold < 1.0:
            raise ValueError(f"lip_closure_threshold {self.lip_closure_threshold} is outside (0, 1)")
        release = self.lip_release_threshold
        if release is not None and not 0.0 < release <= self.lip_closure_threshold:
            raise ValueError(
                f"lip_release_threshold {release} is outside (0, lip_closure_threshold = "
                f"{self.lip_closure_threshold}]"
            )
        if self.mel_std <= 0 or min(self.motion_std) <= 0:
            raise ValueError("normalisation spreads must be positive")

    @property
    def lip_release(self) -> float:
        """The probability below which sealed lips open again (the closure threshold without
        hysteresis)."""
        release = self.lip_release_threshold
        return self.lip_closure_threshold if release is None else release

    @property
    def audio_rows(self) -> int:
        """Feature rows the model sees per frame: this frame and the lookahead frames."""
        return (1 + self.lookahead_frames) * self.rows_per_frame
