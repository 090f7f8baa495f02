"""What the synthetic speakers say and with which voices; held-out voices and sentences for eval."""

from __future__ import annotations

import numpy as np

TRAIN_ESPEAK_VOICES: tuple[str, ...] = ("en-US", "en", "en-GB-x-rp", "en-029", "en-US-nyc", "en-GB-x-gbclan")
EVAL_ESPEAK_VOICES: tuple[str, ...] = ("en-GB-scotland", "en-GB-x-gbcwmd")
TRAIN_VARIANTS: tuple[str, ...] = ("", "+m1", "+m2", "+m3", "+m4", "+f1", "+f2", "+f3", "+klatt")
EVAL_VARIANTS: tuple[str, ...] = ("+m7", "+f4")
PIPER_VOICE = "en_US-joe-medium"

_SUBJECTS = ("I", "we", "my sister", "the team", "our neighbour", "the doctor", "you", "they",
             "my brother", "the teacher", "a friend of mine", "the manager", "everybody")
_VERBS = ("bought", "painted", "fixed", "found", "moved", "borrowed", "cooked", "planned",
          "cleaned", "visited", "forgot", "booked", "measured", "checked", "opened")
_OBJECTS = ("the blue boat", "a big map", "the kitchen", "five old books", "the garden fence",
            "my bicycle", "the museum", "a warm jacket", "the piano", "our tickets",
            "the broken window", "a pumpkin pie", "the office", "some fresh bread", "the mailbox")
_TAILS = ("yesterday", "last week", "before lunch", "in the morning", "after the meeting",
          "on Monday", "with my father", "for the party", "by the river", "in a hurry", "")
_QUESTIONS = ("Do you think {s} {v} {o}?", "Why would {s} buy {o}?", "Have you seen {o}?",
              "What happened to {o}?", "Could we move {o} {t}?", "Is it true that {s} {v} {o}?")
_REPLIES = ("Yes, of course.", "I am not sure about that.", "Well, maybe.", "Oh really?",
            "That sounds wonderful.", "Hmm, let me think.", "Right, I remember now.",
            "No, not at all.", "Absolutely.", "Okay, go on.", "Wow, I had no idea.")
EVAL_SENTENCES: tuple[str, ...] = (
    "Peter picked a bunch of purple plums from the bamboo basket.",
    "My mother bakes apple pie every Sunday morning.",
    "Five violent waves flooded the village by the valley.",
    "Would you please bring me the big brown umbrella?",
    "The old farmer walked home slowly across the muddy fields.",
    "Maybe the baby will sleep better in the small blue room.",
    "We often visit the famous beach behind the palm trees.",
    "How long have you been waiting for the number nine bus?",
)


def sentence(rng: np.random.Generator) -> str:
    """A training sentence: statement, question or short reply (never one of EVAL_SENTENCES)."""
    pick = rng.random()
    fill = {"s": str(rng.choice(_SUBJECTS)), "v": str(rng.choice(_VERBS)),
            "o": str(rng.choice(_OBJECTS)), "t": str(rng.choice(_TAILS))}  # fmt: skip
    if pick < 0.2:
        return str(rng.choice(_REPLIES))
    if pick < 0.4:
        text = str(rng.choice(_QUESTIONS)).format(**fill)
    else:
        text = f"{fill['s']} {fill['v']} {fill['o']} {fill['t']}".strip() + "."
    text = " ".join(text.split())
    return text[0].upper() + text[1:]


def training_voice(rng: np.random.Generator) -> tuple[str, str]:
    """(engine, voice) for one training speaker: mostly espeak voices, sometimes piper's joe."""
    if rng.random() < 0.25:
        return "piper", PIPER_VOICE
    return "espeak", str(rng.choice(TRAIN_ESPEAK_VOICES)) + str(rng.choice(TRAIN_VARIANTS))


def eval_voice(rng: np.random.Generator) -> tuple[str, str]:
    """A voice never used in training (piper's one voice is used with held-out sentences only)."""
    if rng.random() < 0.2:
        return "piper", PIPER_VOICE
    return "espeak", str(rng.choice(EVAL_ESPEAK_VOICES)) + str(rng.choice(EVAL_VARIANTS))
