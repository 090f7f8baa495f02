"""How far the rig moves for a commanded blendshape, relative to the photo's own expression."""

from __future__ import annotations

import numpy as np

from avatars.motion import NUM_BLENDSHAPES, index
from renderer.response import amplitudes

_SMILES = [index("mouthSmileLeft"), index("mouthSmileRight")]
_JAW = index("jawOpen")


def _kept_laugh() -> tuple[np.ndarray, np.ndarray]:
    """A photo's own broad smile (0.9) of which motion may take away half with the lips closed."""
    own = np.zeros(NUM_BLENDSHAPES, np.float32)
    own[_SMILES] = 0.9
    floor = np.zeros(NUM_BLENDSHAPES, np.float32)
    floor[_SMILES] = 0.5
    return own, floor


def test_a_kept_smile_lessens_only_so_far_with_the_lips_closed() -> None:
    own, floor = _kept_laugh()
    at_rest = amplitudes(own.copy(), own, floor)[_SMILES]
    taken_away = amplitudes(np.zeros(NUM_BLENDSHAPES, np.float32), own, floor)[_SMILES]
    np.testing.assert_allclose(taken_away, 0.5 * at_rest, rtol=1e-5)


def test_an_open_jaw_lets_a_kept_smile_go() -> None:
    """With the jaw open the corners hang from the lower lip: the smile can be taken away whole
    (held up, an open jaw on a kept laugh read to MediaPipe as a smile of 0.6-0.8)."""
    own, floor = _kept_laugh()
    commanded = np.zeros(NUM_BLENDSHAPES, np.float32)
    smiles = []
    for jaw in (0.0, 0.2, 0.4, 0.8):
        commanded[_JAW] = jaw
        smiles.append(float(amplitudes(commanded.copy(), own, floor)[_SMILES].mean()))
    assert smiles[0] > smiles[1] > smiles[2] == smiles[3] == 0.0, smiles


def test_the_jaw_opens_further_with_every_step() -> None:
    commanded = np.zeros(NUM_BLENDSHAPES, np.float32)
    drops = []
    for jaw in np.linspace(0.0, 1.0, 11):
        commanded[_JAW] = jaw
        drops.append(float(amplitudes(commanded.copy())[_JAW]))
    assert np.all(np.diff(drops) > 0.0), drops
    assert drops[-1] <= 0.8 + 1e-6, "the full drop read to MediaPipe as a mouth closing again"
