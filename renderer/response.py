"""How far the rig moves for a commanded blendshape: per channel a tuned response curve, and
relative to the photo's own expression (taking away part of a photographed smile removes that
part of it; some of it motion cannot take away: ``floors``)."""

from __future__ import annotations

import numpy as np

from avatars import face as fm
from avatars.character import Character
from avatars.motion import NUM_BLENDSHAPES, index
from avatars.relax import LIFT_REST
from avatars.relaxation import KEPT


def _response(gain: float, gamma: float) -> tuple[float, float]:
    return gain, gamma


# Commanded value c → rig amplitude gain * c**gamma, tuned by closed-loop measurement
# (``renderer.evaluate``) so that what MediaPipe measures on the render tracks c. The jaw's
# full drop (gain 1: 0.24 face heights) read as a mouth closing again on narrow mouths and on
# photos whose open mouth was relaxed shut (obama_talking's scripted jaw read 0.68 at c = 0.6,
# 0.01 at c = 1; the astronaut's 0.51 at 0.8, 0.46 at 1): at gain 0.8, gamma 0.85 MediaPipe
# reads every step wider on the face set (tools.faceset.evaluate).
_TUNED = {
    "eyeBlinkLeft": _response(1.0, 0.6), "eyeBlinkRight": _response(1.0, 0.6),
    "jawOpen": _response(0.8, 0.85),
    "mouthSmileLeft": _response(1.4, 0.6), "mouthSmileRight": _response(1.4, 0.6),
    "browInnerUp": _response(1.5, 0.7),
    "mouthPucker": _response(1.0, 0.5),
}  # fmt: skip
_GAINS = np.ones(NUM_BLENDSHAPES, np.float32)
_GAMMAS = np.ones(NUM_BLENDSHAPES, np.float32)
for _name, (_gain, _gamma) in _TUNED.items():
    _GAINS[index(_name)], _GAMMAS[index(_name)] = _gain, _gamma


JAW, _CLOSE = index("jawOpen"), index("mouthClose")


# A kept smile's corners come down no further than this below where they rest (face heights),
# while the lips are closed: opening the jaw by _JAW_FREES (rig amplitude) lifts that limit, the
# corners hanging from the dropped lower lip (under raised cheeks an open mouth, not a grimace;
# held up, an open jaw on a kept laugh read as a smile of 0.6-0.8 with the smile at 0)
_SMILE_UNDERSHOOT, _JAW_FREES = 0.02, 0.25
_SMILES = [index("mouthSmileLeft"), index("mouthSmileRight")]


# Lips the photo shows pressed, rolled in or shrugged stay so at rest: undone, each only moves
# the lips a little, but together they part the closed lips of the photo (biden_small's pressed
# lips read 0.02 face heights apart with them all at 0). Motion can still add more of them.
_LIPS_AT_REST = [index(name) for name in ("mouthPressLeft", "mouthPressRight", "mouthRollLower",
                                          "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper")]  # fmt: skip


def floors(character: Character, expression: np.ndarray) -> np.ndarray:
    """(52,) the share of each own amplitude that motion cannot take away: all of the lips'
    pressing and rolling; for a smile the photo keeps, as much as would bring its corners lower
    than they rest (a laugh's corners sit only a little above rest while the smile field takes
    them down far for its score: taken away whole, they pull under cheeks that stay raised, a
    grimace); 0 elsewhere."""
    floor = np.zeros(NUM_BLENDSHAPES, np.float32)
    floor[_LIPS_AT_REST] = 1.0
    smile = character.relaxation.part("smile")
    if smile.action != KEPT:
        return floor
    rig = character.rig
    corners = [fm.MOUTH_LEFT_CORNER, fm.MOUTH_RIGHT_CORNER]
    lift = dict(smile.found).get("corner_lift", 0.0) - LIFT_REST + _SMILE_UNDERSHOOT
    for k, corner in zip(_SMILES, corners, strict=True):
        rise = float(-(rig.basis[k, corner] @ rig.axes[1])) / rig.face_height  # per unit
        full = rise * float(expression[k])  # what taking all of the smile away lowers it
        if full > 1e-6:
            floor[k] = 1.0 - min(max(lift / full, 0.0), 1.0)
    return floor


# the channels that part the lips, and how much of each is taken up by the lips' contact
_PARTING = [index(name) for name in ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight",
                                     "mouthUpperUpLeft", "mouthUpperUpRight")]  # fmt: skip
_LIP_CONTACT = 0.03


def amplitudes(
    blendshapes: np.ndarray, reference: np.ndarray | None = None, floor: np.ndarray | None = None
) -> np.ndarray:
    """(52,) commanded values in [0, 1] → (52,) rig amplitudes.

    ``reference``: the photo's own expression (52,). Below it an amplitude falls linearly from
    the reference's to ``floor`` (52,) times the reference's (default 0: all of it can be taken
    away), so taking away half of a photographed smile removes half of it. The
    tuned curves describe an expression added to a face; MediaPipe reads a photo's own strong
    expression near saturation, and a concave curve below it removed most of the smile in the
    first steps (the smiling astronaut's scripted smile read 0.36 -> 0.75 over c = 0 -> 0.3).
    """
    c = np.clip(blendshapes, 0.0, 1.0)
    # soft lips stay together through the first few per cent of an opening (a listening face's
    # jaw drifts by 0.2-1 %, which the response curve's steep start would show as parted lips)
    c[_PARTING] = np.maximum(c[_PARTING] - _LIP_CONTACT, 0.0) / (1.0 - _LIP_CONTACT)
    out = _GAINS * np.power(c, _GAMMAS)
    if reference is not None:
        own = np.clip(reference, 0.0, 1.0)
        below = c < own
        if below.any():
            share = c[below] / own[below]
            if floor is not None:
                opened = float(out[JAW]) - _GAINS[JAW] * float(own[JAW]) ** _GAMMAS[JAW]
                held = floor.copy()
                held[_SMILES] *= min(max(1.0 - opened / _JAW_FREES, 0.0), 1.0)
                share = held[below] + (1.0 - held[below]) * share
            out[below] = _GAINS[below] * np.power(own[below], _GAMMAS[below]) * share
    # lips can only close as far as the jaw has opened them
    out[_CLOSE] = min(out[_CLOSE], 1.0) * out[JAW]
    return out
