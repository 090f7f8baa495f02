"""Synthetic two-party dialogues with teacher motion, written in the capture format.

One dialogue folder holds ``self.wav`` and ``partner.wav`` (16 kHz mono), ``motion.csv`` (the
``avatars.motion`` CSV of the self speaker) and ``meta.json`` (persona, style, events, phonemes).
``visavis capture`` writes the same files from real video, so training reads both alike.
Dialogues have turn-taking, pauses, overlaps, interruptions and backchannels; each is written from
both speakers' point of view, each stream augmented independently.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audio.clocks import FPS, SAMPLE_RATE, frames_for_samples
from audio.tts import PhonemeSpan, Speech, synthesize
from audio.wav import write_wav
from avatars.motion import clip, write_csv
from avatars.teacher.augment import augment
from avatars.teacher.behaviour import perform
from avatars.teacher.persona import Persona
from avatars.teacher.script import SENTENCE_SOURCES, eval_voice, training_voice
from avatars.teacher.visemes import mouth_motion
from avatars.vocabulary import EVENTS

log = logging.getLogger(__name__)
_BACKCHANNELS = ("Yeah.", "Mm hmm.", "Right.", "Okay.", "I see.")


@dataclass
class Dialogue:
    """Clean audio and phoneme spans (seconds from the start) of both speakers."""

    tracks: list[np.ndarray]  # two (N,) float32
    spans: list[list[PhonemeSpan]] = field(default_factory=lambda: [[], []])
    questions: list[list[tuple[float, float]]] = field(default_factory=lambda: [[], []])
    voices: list[str] = field(default_factory=lambda: ["", ""])


def _place(dialogue: Dialogue, who: int, speech: Speech, start: float, cut: float | None = None) -> float:
    """Mix ``speech`` into speaker ``who``'s track at ``start``; ``cut`` truncates it (seconds)."""
    samples = speech.samples
    if cut is not None:
        samples = samples[: int(cut * SAMPLE_RATE)].copy()
        fade = min(400, samples.shape[0])
        samples[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    offset = int(start * SAMPLE_RATE)
    track = dialogue.tracks[who]
    if track.shape[0] < offset + samples.shape[0]:
        grown = np.zeros(offset + samples.shape[0] + SAMPLE_RATE, np.float32)
        grown[: track.shape[0]] = track
        dialogue.tracks[who] = track = grown
    track[offset : offset + samples.shape[0]] += samples
    limit = samples.shape[0] / SAMPLE_RATE
    for span in speech.phonemes:
        if span.start < limit:
            dialogue.spans[who].append(
                PhonemeSpan(span.phoneme, start + span.start, start + min(span.end, limit))
            )
    return start + limit


def build_dialogue(rng: np.random.Generator, seconds: float, *, held_out: bool = False,
                   sentences: str = "script") -> Dialogue:
    """Two speakers taking turns for about ``seconds``; training text from ``SENTENCE_SOURCES``."""
    if sentences not in SENTENCE_SOURCES:
        raise ValueError(f"unknown sentence source {sentences!r}; known: {', '.join(SENTENCE_SOURCES)}")
    training_sentence = SENTENCE_SOURCES[sentences]
    voices = [eval_voice(rng) if held_out else training_voice(rng) for _ in range(2)]
    rates = rng.uniform(0.8, 1.35, size=2)
    pitches = rng.uniform(0.8, 1.25, size=2)
    dialogue = Dialogue(tracks=[np.zeros(0, np.float32), np.zeros(0, np.float32)])
    dialogue.voices = [f"{engine}:{voice}" for engine, voice in voices]

    def say(who: int, text: str) -> Speech:
        engine, voice = voices[who]
        rate = float(np.clip(rates[who] * rng.uniform(0.92, 1.08), 0.6, 2.0))
        return synthesize(text, engine=engine, voice=voice, rate=rate, pitch=float(pitches[who]))

    from avatars.teacher.script import EVAL_SENTENCES

    t, who = float(rng.uniform(0.3, 1.5)), int(rng.integers(2))
    while t < seconds:
        n_sentences = int(rng.integers(1, 4))
        turn_end = t
        for k in range(n_sentences):
            text = str(rng.choice(EVAL_SENTENCES)) if held_out else training_sentence(rng)
            speech = say(who, text)
            interrupted = k == n_sentences - 1 and rng.random() < 0.12 and speech.duration > 1.2
            cut = float(rng.uniform(0.5, speech.duration - 0.3)) if interrupted else None
            end = _place(dialogue, who, speech, turn_end, cut)
            if text.endswith("?") and cut is None:
                dialogue.questions[who].append((turn_end, end))
            if rng.random() < 0.15 and speech.duration > 1.5:  # the listener backchannels
                _place(dialogue, 1 - who, say(1 - who, str(rng.choice(_BACKCHANNELS))),
                       turn_end + float(rng.uniform(0.5, speech.duration - 0.5)))  # fmt: skip
            turn_end = end if cut is not None else end + float(rng.uniform(0.15, 0.5))
            if cut is not None:
                turn_end -= float(rng.uniform(0.1, 0.4))  # the interrupter starts before the cut
                break
        roll = rng.random()
        if roll < 0.15:
            gap = -float(rng.uniform(0.1, 0.5))  # overlap
        elif roll < 0.25:
            gap = float(rng.uniform(2.0, 5.0))  # both silent: idle
        else:
            gap = float(rng.uniform(0.2, 1.0))
        t = max(turn_end + gap, t + 0.5)
        who = 1 - who if rng.random() < 0.85 else who
    n = max(dialogue.tracks[0].shape[0], dialogue.tracks[1].shape[0])
    n = frames_for_samples(n) * (SAMPLE_RATE // FPS)
    dialogue.tracks = [np.pad(x, (0, n - x.shape[0])) for x in dialogue.tracks]
    return dialogue


def random_events(rng: np.random.Generator, n_frames: int) -> list[tuple[int, str]]:
    """About one requested gesture or emotion every 20 s."""
    count = rng.poisson(n_frames / (20 * FPS))
    frames = sorted(rng.integers(0, max(n_frames - FPS, 1), size=count).tolist())
    return [(int(f), str(rng.choice(EVENTS[1:]))) for f in frames]


def teacher_motion(
    dialogue: Dialogue, who: int, persona: Persona, rng: np.random.Generator,
    events: list[tuple[int, str]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, C) motion of speaker ``who``, its blink onsets and (T,) event track."""
    n_frames = frames_for_samples(dialogue.tracks[who].shape[0])
    performance = perform(
        self_spans=dialogue.spans[who], partner_spans=dialogue.spans[1 - who], n_frames=n_frames,
        persona=persona, rng=rng, questions=dialogue.questions[who], events=events,
    )  # fmt: skip
    scale = float(rng.uniform(0.85, 1.15)) * (0.9 + 0.2 * persona.expressiveness)
    mouth = mouth_motion(dialogue.spans[who], n_frames, articulation_scale=scale)
    return clip(performance.motion + mouth), performance.blink_onsets, performance.events


def write_example(
    folder: Path, dialogue: Dialogue, who: int, rng: np.random.Generator, *, clean: bool = False
) -> dict:
    """Write one point of view of ``dialogue`` as a corpus folder; returns its meta."""
    folder.mkdir(parents=True, exist_ok=True)
    persona = Persona.random(rng)
    n_frames = frames_for_samples(dialogue.tracks[who].shape[0])
    events = random_events(rng, n_frames)
    motion, onsets, _ = teacher_motion(dialogue, who, persona, rng, events)
    streams = {}
    for name, track in (("self", dialogue.tracks[who]), ("partner", dialogue.tracks[1 - who])):
        audio, applied = (track, ["clean"]) if clean else augment(track, rng)
        write_wav(folder / f"{name}.wav", audio)
        streams[name] = applied
    write_csv(folder / "motion.csv", motion)
    meta = {
        "source": "teacher",
        "fps": FPS,
        "persona": persona.as_dict(),
        "events": [[f, e] for f, e in events],
        "blink_onsets": onsets.tolist(),
        "voices": {"self": dialogue.voices[who], "partner": dialogue.voices[1 - who]},
        "augment": streams,
        "self_phonemes": [[s.phoneme, round(s.start, 4), round(s.end, 4)] for s in dialogue.spans[who]],
        "partner_phonemes": [
            [s.phoneme, round(s.start, 4), round(s.end, 4)] for s in dialogue.spans[1 - who]
        ],
    }
    (folder / "meta.json").write_text(json.dumps(meta))
    return meta


def generate(out_dir: Path, n_dialogues: int, *, seconds: float = 45.0, seed: int = 0,
             held_out: bool = False, sentences: str = "script") -> list[Path]:
    """``n_dialogues`` dialogues, each written from both sides: 2 * n_dialogues folders.
    ``sentences``: the training text (``script`` or ``lexicon``, ``SENTENCE_SOURCES``)."""
    rng = np.random.default_rng(seed)
    folders = []
    for d in range(n_dialogues):
        dialogue = build_dialogue(rng, seconds, held_out=held_out, sentences=sentences)
        for who in (0, 1):
            folder = out_dir / f"dialogue{d:04d}_{'ab'[who]}"
            write_example(folder, dialogue, who, rng, clean=held_out)
            folders.append(folder)
        log.info("corpus dialogue=%d seconds=%.1f voices=%s", d,
                 dialogue.tracks[0].shape[0] / SAMPLE_RATE, ",".join(dialogue.voices))  # fmt: skip
    return folders
