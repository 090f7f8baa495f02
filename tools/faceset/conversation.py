"""The two-person conversation every face goes through: the avatar speaks, listens, then idles.

The avatar's own lines are spoken by piper (the joe voice, as an agent's TTS would), the partner's
by espeak-ng (another voice), both local. The world model (``avatars.driver``) hears both tracks
and is conditioned on each face's own style vector, so the motion differs a little per face.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from audio.clocks import FPS, SAMPLE_RATE
from audio.phonemes import SILENCE
from audio.tts import PhonemeSpan, synthesize
from avatars.driver import drive_offline
from avatars.model import metrics as mx
from avatars.model.stream import WorldModelStream
from tools.faceset.collect import faceset_dir

SELF_LINES = (
    "Thanks for waiting. I looked at the numbers, and most of the plan holds up.",
    "The budget is fine, but maybe we should move the big launch to Monday.",
    "Barbara promised to bring the maps, the photos and both of the boxes.",
    "I think the open question is who will call the people in Boston.",
)
PARTNER_LINES = (
    "That sounds good to me. Let me check with the team this afternoon.",
    "What about the printing? Last time it took almost two weeks.",
    "We could also ask the office in Denver if they have a spare room.",
)
_LEAD_IN = 0.4  # seconds of silence before the avatar starts
_TURN_GAP = 0.5  # seconds between the avatar's last word and the partner's first


@dataclass(frozen=True)
class Conversation:
    self_audio: np.ndarray  # (N,) float32 16 kHz: what the avatar says
    partner_audio: np.ndarray  # (N,) what it hears
    speaking: np.ndarray  # (T,) bool per video frame
    listening: np.ndarray
    idle: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.speaking.shape[0])


def _speak(lines: tuple[str, ...], seconds: float, engine: str, voice: str | None) -> tuple[np.ndarray, list[PhonemeSpan]]:
    """Lines spoken one after another until ``seconds`` are filled (then cut there); cached on
    disk, so a rerun on one face does not wait for the TTS engines to load."""
    key = hashlib.sha256(json.dumps([lines, seconds, engine, voice]).encode()).hexdigest()[:16]
    path = faceset_dir() / "speech" / f"{key}.npz"
    if path.is_file():
        with np.load(path) as data:
            spans = [PhonemeSpan(str(p), float(a), float(b)) for p, a, b in zip(data["phonemes"], *data["times"].T, strict=True)]
            return data["samples"], spans
    samples, spans = _synthesize(lines, seconds, engine, voice)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, samples=samples, phonemes=np.array([s.phoneme for s in spans]),
             times=np.array([[s.start, s.end] for s in spans], np.float64).reshape(-1, 2))  # fmt: skip
    partial.replace(path)
    return samples, spans


def _synthesize(lines: tuple[str, ...], seconds: float, engine: str, voice: str | None) -> tuple[np.ndarray, list[PhonemeSpan]]:
    chunks: list[np.ndarray] = []
    spans: list[PhonemeSpan] = []
    offset = 0.0
    for k in range(64):
        if offset >= seconds:
            break
        speech = synthesize(lines[k % len(lines)], engine=engine, voice=voice)
        chunks.append(speech.samples)
        spans += [PhonemeSpan(s.phoneme, s.start + offset, s.end + offset) for s in speech.phonemes]
        offset += speech.duration
    samples = np.concatenate(chunks)[: int(seconds * SAMPLE_RATE)]
    return samples, [s for s in spans if s.start < seconds]


def build_conversation(seconds: float) -> Conversation:
    """``seconds`` in all: about 40% speaking, 40% listening, the rest idle."""
    if seconds < 5.0:
        raise ValueError(f"seconds={seconds}: the conversation needs at least 5 s (speak, listen, idle)")
    turn = 0.4 * seconds
    own, own_spans = _speak(SELF_LINES, turn, "piper", None)
    heard, heard_spans = _speak(PARTNER_LINES, turn, "espeak", "en-GB-x-rp")
    total = int(seconds * SAMPLE_RATE)
    self_audio = np.zeros(total, np.float32)
    partner_audio = np.zeros(total, np.float32)
    start = int(_LEAD_IN * SAMPLE_RATE)
    self_audio[start : start + own.shape[0]] = own
    partner_start = _LEAD_IN + own.shape[0] / SAMPLE_RATE + _TURN_GAP
    begin = int(partner_start * SAMPLE_RATE)
    partner_audio[begin : begin + heard.shape[0]] = heard[: total - begin]
    n = round(seconds * FPS)
    shifted_own = [PhonemeSpan(s.phoneme, s.start + _LEAD_IN, s.end + _LEAD_IN) for s in own_spans]
    shifted_heard = [PhonemeSpan(s.phoneme, s.start + partner_start, s.end + partner_start) for s in heard_spans]
    speaking = mx.speaking_mask(shifted_own, n)
    # listening: from the partner's first word to their last (pauses between their sentences
    # included), never while the avatar speaks
    words = [s for s in shifted_heard if s.phoneme != SILENCE]
    frames = np.arange(n) / FPS
    listening = (frames >= words[0].start) & (frames < words[-1].end) & ~speaking
    return Conversation(self_audio=self_audio, partner_audio=partner_audio, speaking=speaking,
                        listening=listening, idle=~speaking & ~listening)  # fmt: skip


def drive(base: WorldModelStream, style: np.ndarray, conversation: Conversation, seed: int) -> np.ndarray:
    """(T, channels) motion from the shipped model (``base``'s weights) for one face's style."""
    stream = WorldModelStream(model=base.model, seed=seed, temperature=base.temperature, style=style)
    motion = drive_offline(stream, conversation.self_audio, conversation.partner_audio)
    return motion[: conversation.n_frames]
