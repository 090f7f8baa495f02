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


# A wide lexicon for the closure head: with the ~100 words of ``sentence`` the model learned
# which words hold a p/b/m and missed them in new words (0.79 of p/b/m sealed on held-out
# sentences against 0.92 on training ones, same voices). Words of EVAL_SENTENCES are left out.
_NAMES = ("Bob", "Pam", "Molly", "Ben", "Emma", "Paul", "Maria", "Ruby", "Sam", "Tom", "Kim",
          "Abby", "Mabel", "Patrick", "Bianca", "Pablo", "Imran", "Amber", "Jim", "Hannah")
_NOUNS = ("paper", "pencil", "pocket", "puppy", "parade", "picnic", "pillow", "planet", "poem",
          "pond", "potato", "puzzle", "rabbit", "ribbon", "robot", "rubber", "cabin", "cable",
          "bottle", "butter", "button", "camera", "lemon", "melon", "marble", "market", "meadow",
          "memory", "message", "metal", "minute", "mirror", "moment", "money", "monkey", "mountain",
          "muffin", "music", "napkin", "hammer", "summer", "problem", "program", "promise",
          "pepper", "pigeon", "pirate", "pizza", "platform", "player", "pump", "captain", "campus",
          "lamp", "stamp", "trumpet", "shampoo", "sample", "symbol", "ambulance", "banana",
          "barber", "battery", "beaver", "bubble", "bucket", "budget", "building", "bumper",
          "cabbage", "cupboard", "dumpling", "elbow", "emperor", "example", "harbour", "hobby",
          "jumper", "lobster", "pebble", "robin", "sponge", "temple", "tomato", "umpire", "blanket",
          "blossom", "border", "bridge", "broom", "cowboy", "crumb", "elephant", "family",
          "hamster", "homework", "kingdom", "magnet", "mayor", "medal", "microphone", "motor",
          "muscle", "opera", "oven", "palace", "panda", "parrot", "passport", "peanut", "pilot",
          "postcard", "puddle", "rainbow", "sandwich", "scrapbook", "sheep", "shop", "ship",
          "soap", "spoon", "submarine", "suitcase", "table", "tape", "tulip", "chimney", "compass",
          "dolphin", "envelope", "hospital", "lamb", "map", "drum", "comb", "thumb", "cup")
_VERBS_PAST = ("dropped", "stopped", "jumped", "bumped", "mopped", "popped", "skipped", "clapped",
               "wrapped", "tapped", "typed", "helped", "kept", "grabbed", "rubbed", "scrubbed",
               "climbed", "combed", "hummed", "trimmed", "blamed", "named", "pushed", "pulled",
               "brushed", "built", "improved", "imagined", "remembered", "mumbled", "combined",
               "compared", "described", "performed", "published", "printed", "prepared",
               "protected", "repaired", "replaced", "shipped", "snapped", "stamped", "zipped",
               "missed", "measured", "sold", "taught", "made", "became", "swept", "wiped")
_ADJECTIVES = ("pink", "pale", "plump", "polite", "proud", "bumpy", "bright", "bitter", "bold",
               "busy", "calm", "cheap", "crisp", "damp", "dim", "empty", "humble", "limp", "mellow",
               "mild", "modern", "moist", "narrow", "plain", "simple", "sharp", "shabby", "smooth",
               "soapy", "superb", "tiny", "wobbly", "jumbo", "maple", "premium", "mighty", "misty",
               "polished", "bumpy", "happy", "grumpy", "sleepy", "embarrassed", "important")
_PREPOSITIONS = ("beneath", "between", "above", "upon", "beside", "inside", "past", "near",
                 "opposite", "below")
_ADVERBS = ("probably", "perhaps", "simply", "promptly", "completely", "on purpose", "at midnight",
            "in a moment", "at the market", "before breakfast", "up the hill", "")
_LEXICON_TEMPLATES = (
    "{name} {verb} the {adj} {noun} {adv}.",
    "{name} and {name2} {verb} a {adj} {noun}.",
    "The {adj} {noun} {verb} {name}'s {noun2} {adv}.",
    "Did {name} keep the {adj} {noun} {prep} the {noun2}?",
    "Perhaps the {noun} is {prep} the {noun2}.",
    "Why did the {noun} stop {prep} the {noun2}?",
    "My {noun} and your {noun2} were {adj}.",
    "Put the {noun} {prep} the {adj} {noun2}, {name}.",
)


def _without_eval_words(words: tuple[str, ...]) -> tuple[str, ...]:
    held_out = {w.strip(".,?!").lower() for s in EVAL_SENTENCES for w in s.split()}
    return tuple(w for w in words if not set(w.lower().split()) & held_out)


_LEXICON = {key: _without_eval_words(words) for key, words in (
    ("name", _NAMES), ("noun", _NOUNS), ("verb", _VERBS_PAST), ("adj", _ADJECTIVES),
    ("prep", _PREPOSITIONS), ("adv", _ADVERBS))}  # fmt: skip


def lexicon_sentence(rng: np.random.Generator) -> str:
    """A training sentence over a lexicon of ~300 words dense in p/b/m (never an EVAL word)."""
    fill = {key: str(rng.choice(words)) for key, words in _LEXICON.items()}
    fill["name2"], fill["noun2"] = str(rng.choice(_LEXICON["name"])), str(rng.choice(_LEXICON["noun"]))
    text = " ".join(str(rng.choice(_LEXICON_TEMPLATES)).format(**fill).split())
    text = text.replace(" .", ".").replace(" ?", "?").replace(" ,", ",")
    return text[0].upper() + text[1:]


SENTENCE_SOURCES = {"script": sentence, "lexicon": lexicon_sentence}
"""Training text: ``script`` (a small grammar of everyday sentences) or ``lexicon``."""
