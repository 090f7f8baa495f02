"""The teacher: lips follow the phonemes, the listener keeps its mouth closed and nods."""

from __future__ import annotations

import numpy as np
import pytest

from audio.clocks import FPS, SAMPLE_RATE
from audio.tts import synthesize
from avatars.motion import index
from avatars.teacher.behaviour import perform, phrases_of
from avatars.teacher.corpus import Dialogue, _place, teacher_motion
from avatars.teacher.persona import Persona
from avatars.teacher.visemes import LEAD_SECONDS, mouth_motion

JAW, PRESS = index("jawOpen"), index("mouthPressLeft")


def _span_frames(speech, phonemes: set[str]) -> list[range]:
    """Frames whose centre falls in each phoneme, the lead included (at least one frame)."""
    out = []
    for s in speech.phonemes:
        if s.phoneme in phonemes:
            first = max(round((s.start - LEAD_SECONDS) * FPS - 0.5), 0)
            out.append(range(first, max(round(s.end * FPS - 0.5), first) + 1))
    return out


@pytest.fixture(scope="module")
def bilabial_speech():
    return synthesize("Bob, Pam and Mom bought a map of the palm park.", engine="espeak")


def test_lips_close_on_p_b_m_and_open_on_aa(bilabial_speech) -> None:
    n = int(bilabial_speech.duration * FPS) + 1
    motion = mouth_motion(bilabial_speech.phonemes, n)
    closed = _span_frames(bilabial_speech, {"p", "b", "m"})
    opened = _span_frames(bilabial_speech, {"aa"})
    assert len(closed) >= 8 and len(opened) >= 3
    closed_ok = [min(motion[f, JAW] for f in r) < 0.08 and max(motion[f, PRESS] for f in r) > 0.3
                 for r in closed]  # fmt: skip
    assert np.mean(closed_ok) >= 0.9
    assert min(max(motion[f, JAW] for f in r) for r in opened) > 0.3


def test_mouth_rests_closed_in_silence(bilabial_speech) -> None:
    n = int(bilabial_speech.duration * FPS) + 50
    motion = mouth_motion(bilabial_speech.phonemes, n)
    assert motion[-25:, JAW].max() < 0.01


def _conversation(seconds: float = 40.0) -> Dialogue:
    """The partner speaks phrase after phrase; the self speaker only listens."""
    dialogue = Dialogue(tracks=[np.zeros(int(seconds * SAMPLE_RATE), np.float32)] * 2)
    dialogue.tracks = [t.copy() for t in dialogue.tracks]
    line = synthesize("I went to the market and bought some fresh bread.", engine="espeak")
    t = 1.0
    while t + line.duration < seconds - 2:
        t = _place(dialogue, 1, line, t) + 1.5
    return dialogue


def test_listener_keeps_mouth_closed_and_nods_after_phrase_ends() -> None:
    dialogue = _conversation()
    persona = Persona(nod_rate=1.0, expressiveness=0.8)
    motion, _, _ = teacher_motion(dialogue, 0, persona, np.random.default_rng(1), [])
    assert motion[:, JAW].max() < 0.02
    pitch = motion[:, index("headPitch")]
    ends = [p.end for p in phrases_of(dialogue.spans[1])]
    assert len(ends) >= 5
    nodded = []
    for end in ends:
        f = int(end * FPS)
        window = pitch[f : f + FPS + 12]  # the nod starts within 1 s and peaks ~6 frames later
        nodded.append(window.max() - pitch[f] > 2.0)
    assert np.mean(nodded) >= 0.7


@pytest.mark.parametrize("blink_rate", [0.0, 1.0])
def test_blink_rate_stays_natural(blink_rate: float) -> None:
    minutes = 4
    n = minutes * 60 * FPS
    performance = perform(self_spans=[], partner_spans=[], n_frames=n,
                          persona=Persona(blink_rate=blink_rate), rng=np.random.default_rng(2))  # fmt: skip
    per_minute = len(performance.blink_onsets) / minutes
    assert 8 <= per_minute <= 27
    lids = performance.motion[:, index("eyeBlinkLeft")]
    assert lids.max() == pytest.approx(1.0)


def test_persona_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"nod_rate=1\.5"):
        Persona(nod_rate=1.5)


def test_lexicon_text_is_new_to_the_eval_and_rich_in_bilabials() -> None:
    from avatars.teacher.corpus import build_dialogue
    from avatars.teacher.script import EVAL_SENTENCES, SENTENCE_SOURCES

    rng = np.random.default_rng(3)
    lexicon = [SENTENCE_SOURCES["lexicon"](rng) for _ in range(300)]
    script = [SENTENCE_SOURCES["script"](rng) for _ in range(300)]
    words = {w.strip(".,?!'s").lower() for s in lexicon for w in s.split()}
    held_out = {w.strip(".,?!").lower() for s in EVAL_SENTENCES for w in s.split()}
    # Function words ("the", "a", ...) are shared; no content word of the eval's sentences is.
    assert words & held_out <= {"the", "a", "and", "my", "you", "did", "is"}
    assert len(words) > 2 * len({w.strip(".,?!").lower() for s in script for w in s.split()})
    bilabial_words = {w for w in words if set(w) & set("pbm")}
    assert len(bilabial_words) > 150
    with pytest.raises(ValueError, match="unknown sentence source 'poems'"):
        build_dialogue(rng, 5.0, sentences="poems")
