"""The project's one phoneme set: ARPAbet (39 phonemes, lowercase, no stress) plus ``sil``.

Maps espeak-ng's phoneme mnemonics and piper's IPA symbols to it, and carries the per-phoneme
articulation the teacher and the lip-sync evaluation need (vowel, jaw openness, lip shape).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

SILENCE = "sil"

VOWELS: tuple[str, ...] = (
    "aa", "ae", "ah", "ao", "aw", "ay", "eh", "er", "ey", "ih", "iy", "ow", "oy", "uh", "uw",
)  # fmt: skip
CONSONANTS: tuple[str, ...] = (
    "b", "ch", "d", "dh", "f", "g", "hh", "jh", "k", "l", "m", "n", "ng", "p", "r", "s", "sh",
    "t", "th", "v", "w", "y", "z", "zh",
)  # fmt: skip
ARPABET: tuple[str, ...] = tuple(sorted(VOWELS + CONSONANTS))
PHONEMES: tuple[str, ...] = (SILENCE, *ARPABET)
"""The shared set, ``sil`` first; index = phoneme id wherever ids are needed."""
PHONEME_INDEX: dict[str, int] = {p: i for i, p in enumerate(PHONEMES)}

# Jaw opening by vowel height (open vowels ~1, close vowels ~0.2); diphthongs by their start.
_OPENNESS: dict[str, float] = {
    "aa": 1.0, "aw": 0.9, "ay": 0.9, "ae": 0.8, "ah": 0.8, "eh": 0.6, "ao": 0.6, "oy": 0.55,
    "ey": 0.5, "ow": 0.5, "er": 0.45, "ih": 0.35, "uh": 0.35, "iy": 0.2, "uw": 0.2,
    "hh": 0.3, "l": 0.2, "r": 0.15, "y": 0.15, "k": 0.15, "g": 0.15, "ng": 0.15, "t": 0.1,
    "d": 0.1, "n": 0.1, "s": 0.1, "z": 0.1, "th": 0.15, "dh": 0.15, "sh": 0.1, "zh": 0.1,
    "ch": 0.1, "jh": 0.1, "w": 0.1, "f": 0.05, "v": 0.05, "p": 0.0, "b": 0.0, "m": 0.0,
    SILENCE: 0.0,
}  # fmt: skip
_BILABIAL = frozenset({"p", "b", "m"})
_LABIODENTAL = frozenset({"f", "v"})
_ROUNDED = frozenset({"w", "uw", "ow", "uh", "ao", "oy"})
_SPREAD = frozenset({"iy", "eh", "ih", "ey", "ae"})


@dataclass(frozen=True)
class Articulation:
    phoneme: str
    is_vowel: bool
    openness: float
    """Jaw opening in [0, 1]."""
    is_bilabial: bool
    is_labiodental: bool
    is_rounded: bool
    is_spread: bool


ARTICULATION: dict[str, Articulation] = {
    p: Articulation(
        phoneme=p,
        is_vowel=p in VOWELS,
        openness=_OPENNESS[p],
        is_bilabial=p in _BILABIAL,
        is_labiodental=p in _LABIODENTAL,
        is_rounded=p in _ROUNDED,
        is_spread=p in _SPREAD,
    )
    for p in PHONEMES
}


def articulation(phoneme: str) -> Articulation:
    try:
        return ARTICULATION[phoneme]
    except KeyError:
        raise ValueError(
            f"unknown phoneme {phoneme!r}; the shared set is {', '.join(PHONEMES)}"
        ) from None


def is_vowel(phoneme: str) -> bool:
    return articulation(phoneme).is_vowel


def openness(phoneme: str) -> float:
    return articulation(phoneme).openness


def is_bilabial(phoneme: str) -> bool:
    return articulation(phoneme).is_bilabial


def is_labiodental(phoneme: str) -> bool:
    return articulation(phoneme).is_labiodental


def is_rounded(phoneme: str) -> bool:
    return articulation(phoneme).is_rounded


def is_spread(phoneme: str) -> bool:
    return articulation(phoneme).is_spread


# --- espeak-ng mnemonics (as its phoneme events report them, English voices) ---------------

_ESPEAK: dict[str, tuple[str, ...]] = {
    "p": ("p",), "b": ("b",), "t": ("t",), "d": ("d",), "k": ("k",), "g": ("g",),
    "f": ("f",), "v": ("v",), "T": ("th",), "D": ("dh",), "s": ("s",), "z": ("z",),
    "S": ("sh",), "Z": ("zh",), "h": ("hh",), "m": ("m",), "n": ("n",), "N": ("ng",),
    "l": ("l",), "r": ("r",), "w": ("w",), "j": ("y",), "tS": ("ch",), "dZ": ("jh",),
    "t#": ("t",), "d#": ("d",), "?": ("t",), "x": ("k",), "C": ("hh",), "n-": ("n",),
    "l-": ("l",), "r-": ("r",), "R": ("r",), "W": ("w",), "@L": ("ah", "l"), "L": ("l",),
    "@": ("ah",), "V": ("ah",), "a#": ("ah",), "3": ("er",), "3:": ("er",), "a": ("ae",),
    "aa": ("aa",), "A": ("aa",), "A:": ("aa",), "0": ("aa",), "A@": ("aa", "r"),
    "E": ("eh",), "e": ("eh",), "e@": ("eh", "r"), "eI": ("ey",), "I": ("ih",),
    "i": ("iy",), "i:": ("iy",), "i@": ("ih", "r"), "i@3": ("ih", "r"), "IR": ("ih", "r"),
    "O": ("ao",), "O:": ("ao",), "O@": ("ao", "r"), "o@": ("ao", "r"), "OI": ("oy",),
    "o": ("ow",), "oU": ("ow",), "U": ("uh",), "U@": ("uh", "r"), "u": ("uw",),
    "u:": ("uw",), "aI": ("ay",), "aI@": ("ay", "er"), "aI3": ("ay", "er"), "aU": ("aw",),
    "aU@": ("aw", "er"), "VR": ("ah", "r"), "3:r": ("er",), "j/": ("y",), "ju:": ("y", "uw"),
}  # fmt: skip
# Voice-specific variants carry digits, "#", ";", ":" or "[" (dental) after a base mnemonic.
_ESPEAK_SUFFIXES = "#;:23456789!/["


def from_espeak(mnemonic: str) -> tuple[str, ...]:
    """ARPAbet for one espeak-ng phoneme mnemonic; pauses (``_``…) are ``sil``; () if unknown."""
    if not mnemonic or mnemonic.startswith("_"):
        return (SILENCE,)
    name = mnemonic
    while name:
        if name in _ESPEAK:
            return _ESPEAK[name]
        if name[-1] not in _ESPEAK_SUFFIXES:
            break
        name = name[:-1]
    log.debug("unmapped espeak phoneme mnemonic=%r", mnemonic)
    return ()


# --- piper's IPA (espeak-ng IPA split into code points) -------------------------------------

_IPA: dict[str, tuple[str, ...]] = {
    "ɑ": ("aa",), "ɒ": ("aa",), "æ": ("ae",), "a": ("ae",), "ʌ": ("ah",), "ə": ("ah",),
    "ɐ": ("ah",), "ɔ": ("ao",), "aʊ": ("aw",), "aɪ": ("ay",), "ɛ": ("eh",), "e": ("ey",),
    "ɚ": ("er",), "ɝ": ("er",), "ɜ": ("er",), "eɪ": ("ey",), "ɪ": ("ih",), "ᵻ": ("ih",),
    "i": ("iy",), "oʊ": ("ow",), "o": ("ow",), "əʊ": ("ow",), "ɔɪ": ("oy",), "ʊ": ("uh",),
    "u": ("uw",), "ɯ": ("uw",), "b": ("b",), "tʃ": ("ch",), "d": ("d",), "ð": ("dh",),
    "f": ("f",), "ɡ": ("g",), "g": ("g",), "h": ("hh",), "dʒ": ("jh",), "k": ("k",),
    "l": ("l",), "ɫ": ("l",), "m": ("m",), "n": ("n",), "ŋ": ("ng",), "p": ("p",), "ɹ": ("r",),
    "r": ("r",), "ɾ": ("t",), "s": ("s",), "ʃ": ("sh",), "t": ("t",), "θ": ("th",),
    "v": ("v",), "w": ("w",), "j": ("y",), "z": ("z",), "ʒ": ("zh",), "ʔ": ("t",),
    "x": ("k",), "ç": ("hh",), "ɬ": ("l",),
}  # fmt: skip
_IPA_PAIRS = frozenset(k for k in _IPA if len(k) == 2)
IPA_STRESS = frozenset("ˈˌ")
"""Stress marks: they precede a syllable, so their time belongs to the phoneme after them."""
IPA_EXTENDERS = frozenset("ːˑ\u0329\u0361")
"""Length marks and diacritics: their time belongs to the phoneme before them."""
IPA_PAUSES = frozenset('.,;:!?—…^$-"()')
"""Punctuation and piper's sentence start/end markers: silence."""
WORD_BREAK = " "


def from_ipa(symbol: str) -> tuple[str, ...]:
    """ARPAbet for one IPA phoneme (one or two code points); punctuation is ``sil``; () if unknown."""
    if symbol in IPA_PAUSES:
        return (SILENCE,)
    stripped = "".join(ch for ch in symbol if ch not in IPA_EXTENDERS and ch not in IPA_STRESS)
    if stripped in _IPA:
        return _IPA[stripped]
    log.debug("unmapped IPA symbol=%r", symbol)
    return ()


def group_ipa(symbols: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Join piper's code points into IPA phonemes (diphthongs, affricates, long vowels).

    Returns (phoneme, indices of the input symbols it covers); stress marks attach to the phoneme
    after them, length marks and word breaks to the one before.
    """
    groups: list[tuple[str, list[int]]] = []
    pending: list[int] = []  # stress marks waiting for their phoneme
    i = 0
    while i < len(symbols):
        sym = symbols[i]
        if sym in IPA_STRESS:
            pending.append(i)
            i += 1
            continue
        if sym in IPA_EXTENDERS or sym == WORD_BREAK:
            if groups:
                groups[-1][1].append(i)
            else:
                pending.append(i)
            i += 1
            continue
        if i + 1 < len(symbols) and sym + symbols[i + 1] in _IPA_PAIRS:
            groups.append((sym + symbols[i + 1], [*pending, i, i + 1]))
            i += 2
        else:
            groups.append((sym, [*pending, i]))
            i += 1
        pending = []
    if pending:
        if groups:
            groups[-1][1].extend(pending)
        else:
            groups.append((SILENCE, pending))
    return groups
