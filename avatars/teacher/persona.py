"""A persona: how a character moves. Drawn per dialogue by the corpus, fed to the model."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from avatars.vocabulary import PERSONA_FIELDS, check_persona


@dataclass(frozen=True)
class Persona:
    """Each trait in [0, 1]; 0.5 is an average person."""

    expressiveness: float = 0.5
    """Size of head, brow and mouth gestures."""
    nod_rate: float = 0.5
    """How readily the listener nods at the partner's phrase ends."""
    smile: float = 0.5
    """Resting and listening smile."""
    blink_rate: float = 0.5
    """0 → 10 blinks/min, 1 → 25 blinks/min."""

    def __post_init__(self) -> None:
        check_persona(asdict(self))

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in PERSONA_FIELDS], np.float32)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def random(cls, rng: np.random.Generator) -> Persona:
        values = np.clip(rng.beta(2.0, 2.0, size=len(PERSONA_FIELDS)), 0.0, 1.0)
        return cls(**{name: float(v) for name, v in zip(PERSONA_FIELDS, values, strict=True)})

    def blinks_per_minute(self) -> float:
        return 10.0 + 15.0 * self.blink_rate
