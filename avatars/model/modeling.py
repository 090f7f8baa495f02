"""The world model: a small causal transformer over motion frames with a sliding window.

Each frame's input sums projections of both speakers' audio features (the frame and its lookahead),
voice activity and conversation state, the previous motion frame, the character's style vector,
the persona and an event embedding. Attention sees the last ``window`` frames only, with a learned
bias per relative offset, so streaming keeps a fixed-size ring-buffer KV cache: the cost per frame
and the memory stay constant however long the conversation runs. The output is a Gaussian per
motion channel (mean and log-scale, in normalised units), a Bernoulli blink onset and a Bernoulli
"lips sealed" for p/b/m.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel

from avatars.model.config import WorldModelConfig


@dataclass
class FrameInputs:
    """Conditioning for T frames of B sequences (a single streaming step has T = 1)."""

    self_mel: torch.Tensor  # (B, T, R, M) normalised log-mel rows of this frame + lookahead
    partner_mel: torch.Tensor  # (B, T, R, M)
    activity: torch.Tensor  # (B, T, 2) voice activity of self and partner in [0, 1]
    state: torch.Tensor  # (B, T) long, index into STATES
    prev_motion: torch.Tensor  # (B, T, C) normalised motion of the previous frame
    style: torch.Tensor  # (B, S)
    persona: torch.Tensor  # (B, P)
    event: torch.Tensor  # (B, T) long, index into EVENTS


@dataclass
class MotionOutputs:
    mean: torch.Tensor  # (B, T, C) normalised
    log_scale: torch.Tensor  # (B, T, C)
    blink_logit: torch.Tensor  # (B, T)
    closure_logit: torch.Tensor | None = None  # (B, T) lips sealed (p/b/m); None without the head


class KVCache:
    """Per-layer ring buffers of the last ``window`` keys and values and their frame numbers."""

    def __init__(self, config: WorldModelConfig, batch: int, device: torch.device) -> None:
        head_dim = config.d_model // config.n_heads
        shape = (config.n_layers, batch, config.n_heads, config.window, head_dim)
        self.keys = torch.zeros(shape, device=device)
        self.values = torch.zeros(shape, device=device)
        self.positions = torch.full((config.window,), -1, dtype=torch.long, device=device)
        self.window = config.window
        self.step = 0
        # The closure head's last ``closure_context - 1`` projected audio frames (zeros at the start,
        # as the full-sequence forward pads).
        self.closure_audio = torch.zeros(batch, config.closure_context - 1, CLOSURE_AUDIO_DIM,
                                         device=device)  # fmt: skip

    def nbytes(self) -> int:
        tensors = (self.keys, self.values, self.closure_audio)
        return sum(int(t.numel()) * t.element_size() for t in tensors)


class SlidingAttention(nn.Module):
    def __init__(self, config: WorldModelConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.window = config.window
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.out = nn.Linear(config.d_model, config.d_model)
        # Learned bias per head and offset (0 = this frame); long-past frames start out weaker.
        init = -0.05 * torch.arange(config.window, dtype=torch.float32)
        self.offset_bias = nn.Parameter(init.repeat(config.n_heads, 1))  # (H, W)

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, t, _ = x.shape
        qkv = self.qkv(x).view(b, t, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]  # each (B, H, T, Dh)

    def _merge(self, y: torch.Tensor) -> torch.Tensor:
        b, h, t, d = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Whole sequences at once: (B, T, D) -> (B, T, D)."""
        t = x.shape[1]
        q, k, v = self._split(x)
        idx = torch.arange(t, device=x.device)
        offset = idx[:, None] - idx[None, :]  # (T, T)
        visible = (offset >= 0) & (offset < self.window)
        bias = self.offset_bias[:, offset.clamp(0, self.window - 1)]  # (H, T, T)
        bias = bias.masked_fill(~visible, float("-inf"))
        return self._merge(F.scaled_dot_product_attention(q, k, v, attn_mask=bias))

    def step(self, x: torch.Tensor, cache: KVCache, layer: int) -> torch.Tensor:
        """One frame: (B, 1, D) -> (B, 1, D); writes its key and value into the ring buffer."""
        q, k, v = self._split(x)
        slot = cache.step % cache.window
        cache.keys[layer, :, :, slot] = k[:, :, 0]
        cache.values[layer, :, :, slot] = v[:, :, 0]
        offset = cache.step - cache.positions  # (W,); positions already include this step
        visible = (cache.positions >= 0) & (offset < self.window)
        bias = self.offset_bias[:, offset.clamp(0, self.window - 1)]  # (H, W)
        bias = bias.masked_fill(~visible, float("-inf"))[None, :, None, :]  # (1, H, 1, W)
        y = F.scaled_dot_product_attention(q, cache.keys[layer], cache.values[layer], attn_mask=bias)
        return self._merge(y)


class Block(nn.Module):
    def __init__(self, config: WorldModelConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model)
        self.attn = SlidingAttention(config)
        self.norm2 = nn.LayerNorm(config.d_model)
        hidden = config.ff_mult * config.d_model
        self.ff = nn.Sequential(
            nn.Linear(config.d_model, hidden), nn.GELU(), nn.Linear(hidden, config.d_model)
        )
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x)))
        return x + self.drop(self.ff(self.norm2(x)))

    def step(self, x: torch.Tensor, cache: KVCache, layer: int) -> torch.Tensor:
        x = x + self.attn.step(self.norm1(x), cache, layer)
        return x + self.ff(self.norm2(x))


class AudioEncoder(nn.Module):
    """(B, T, R, M) feature rows of one speaker -> (B, T, D)."""

    def __init__(self, config: WorldModelConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(config.audio_rows * config.n_mels, 2 * config.d_model),
            nn.GELU(),
            nn.Linear(2 * config.d_model, config.d_model),
        )

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.net(mel.flatten(2))


CLOSURE_AUDIO_DIM = 64
"""Width of the closure head's own view of the avatar's audio."""


class ClosureHead(nn.Module):
    """Bernoulli "lips sealed" (p/b/m) from the last hidden state and a causal convolution over the
    avatar's own feature rows of the last ``closure_context`` frames (each with its lookahead).

    The transformer's hidden state serves every channel and smooths the one- to three-frame seals;
    the direct path lets the head see the short silence and burst of a stop at 10 ms resolution.
    """

    def __init__(self, config: WorldModelConfig) -> None:
        super().__init__()
        d, a = config.d_model, CLOSURE_AUDIO_DIM
        self.context = config.closure_context
        self.audio = nn.Linear(config.audio_rows * config.n_mels, a)
        self.conv = nn.Conv1d(a, a, kernel_size=self.context)
        self.drop = nn.Dropout(config.closure_dropout)
        self.mlp = nn.Sequential(nn.Linear(d + a, d), nn.GELU(), nn.Linear(d, 1))

    def project(self, self_mel: torch.Tensor) -> torch.Tensor:
        """(B, T, R, M) -> (B, T, A) per-frame audio projection."""
        return F.gelu(self.audio(self_mel.flatten(2)))

    def forward(self, h: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """h (B, T, D), audio (B, context - 1 + T, A) with the past frames first -> (B, T) logits."""
        local = F.gelu(self.conv(audio.transpose(1, 2))).transpose(1, 2)  # (B, T, A)
        return self.mlp(self.drop(torch.cat([h, local], dim=-1)))[..., 0]


class WorldModel(PreTrainedModel):
    config_class = WorldModelConfig
    base_model_prefix = "world_model"
    main_input_name = "self_mel"

    config: WorldModelConfig

    def __init__(self, config: WorldModelConfig) -> None:
        super().__init__(config)
        d = config.d_model
        self.self_audio = AudioEncoder(config)
        self.partner_audio = AudioEncoder(config)
        self.activity = nn.Linear(2, d)
        self.state = nn.Embedding(config.n_states, d)
        self.prev_motion = nn.Linear(config.num_channels, d)
        self.style = nn.Linear(config.style_dim, d)
        self.persona = nn.Linear(config.persona_dim, d)
        self.event = nn.Embedding(config.n_events, d)
        self.in_norm = nn.LayerNorm(d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.out_norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 2 * config.num_channels + 1)
        self.closure_head = ClosureHead(config) if config.lip_closure_head else None
        # Normalisation comes from the config, built on first use: from_pretrained creates modules
        # on the meta device, where tensors made here would never be filled in.
        self._motion_stats: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    # ---- normalisation (statistics live in the config) ----------------------------------------
    def _stats(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) of the motion on ``device`` (where the motion being normalised lives),
        made once per device."""
        stats = self._motion_stats.get(device)
        if stats is None:
            mean = torch.tensor(self.config.motion_mean, dtype=torch.float32, device=device)
            std = torch.tensor(self.config.motion_std, dtype=torch.float32, device=device)
            stats = self._motion_stats[device] = (mean, std)
        return stats

    def _prev_mask(self, like: torch.Tensor) -> torch.Tensor:
        mask = torch.ones(self.config.num_channels, device=like.device, dtype=like.dtype)
        mask[self.config.prev_masked_channels] = 0.0
        return mask

    def normalize_motion(self, motion: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(motion.device)
        return (motion - mean) / std

    def denormalize_motion(self, motion: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(motion.device)
        return motion * std + mean

    # ---- network --------------------------------------------------------------------------------
    def embed(self, inputs: FrameInputs) -> torch.Tensor:
        """(B, T, D) sum of every conditioning stream."""
        x = (
            self.self_audio(inputs.self_mel)
            + self.partner_audio(inputs.partner_mel)
            + self.activity(inputs.activity)
            + self.state(inputs.state)
            + self.prev_motion(inputs.prev_motion * self._prev_mask(inputs.prev_motion))
            + self.event(inputs.event)
            + (self.style(inputs.style) + self.persona(inputs.persona))[:, None, :]
        )
        return self.in_norm(x)

    def _heads(self, h: torch.Tensor, closure_audio: torch.Tensor | None) -> MotionOutputs:
        """h (B, T, D); closure_audio (B, context - 1 + T, A) when the model has a closure head."""
        c = self.config.num_channels
        h = self.out_norm(h)
        out = self.head(h)
        log_scale = out[..., c : 2 * c].clamp(min=self.config.min_log_scale, max=3.0)
        closure = None
        if self.closure_head is not None and closure_audio is not None:
            closure = self.closure_head(h, closure_audio)
        return MotionOutputs(mean=out[..., :c], log_scale=log_scale, blink_logit=out[..., 2 * c],
                             closure_logit=closure)  # fmt: skip

    def forward(self, inputs: FrameInputs) -> MotionOutputs:  # type: ignore[override]
        """Teacher-forced whole sequences (training, tests)."""
        h = self.embed(inputs)
        for block in self.blocks:
            h = block(h)
        audio = None
        if self.closure_head is not None:
            frames = self.closure_head.project(inputs.self_mel)  # (B, T, A)
            audio = F.pad(frames, (0, 0, self.closure_head.context - 1, 0))  # zeros before the start
        return self._heads(h, audio)

    def new_cache(self, batch: int = 1) -> KVCache:
        return KVCache(self.config, batch, self.device)

    def step(self, inputs: FrameInputs, cache: KVCache) -> MotionOutputs:
        """One frame (T = 1) with the ring-buffer cache; equals ``forward`` on the full history."""
        if inputs.self_mel.shape[1] != 1:
            raise ValueError(f"step takes one frame, got {inputs.self_mel.shape[1]}")
        cache.positions[cache.step % cache.window] = cache.step
        h = self.embed(inputs)
        for layer, block in enumerate(self.blocks):
            h = block.step(h, cache, layer)  # type: ignore[operator]
        cache.step += 1
        audio = None
        if self.closure_head is not None:
            audio = torch.cat([cache.closure_audio, self.closure_head.project(inputs.self_mel)], dim=1)
            cache.closure_audio = audio[:, 1:]  # (B, context - 1, A)
        return self._heads(h, audio)


def gaussian_nll(outputs: MotionOutputs, target: torch.Tensor) -> torch.Tensor:
    """Per-channel Gaussian negative log-likelihood, (B, T, C), target normalised."""
    z = (target - outputs.mean) * torch.exp(-outputs.log_scale)
    return 0.5 * z * z + outputs.log_scale
