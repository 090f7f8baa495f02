"""The record of a photo's relaxation (``avatars.relax``): per part, what the photo showed, what
was done and why. The character keeps it (``character.json``); the service shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avatars.motion import index

PARTS = ("mouth", "smile", "brows", "lids")
UNCHANGED, RELAXED, PARTLY, KEPT = "unchanged", "relaxed", "partly relaxed", "kept"
HIDDEN = "hidden"  # the photo does not show the part (eyes behind dark glasses): not animated
ACTIONS = (UNCHANGED, RELAXED, PARTLY, KEPT, HIDDEN)
# Each part's blendshapes, and the decisions after which they are the character's rest (0 for
# the renderer): what the picture can no longer be moved back from. Closed lips cannot close
# further, lowered brows have no more room above the lids, narrowed eyes have nothing to open
# with. A smile, kept or lessened, can still be lessened by motion (the renderer does that
# relative to the photo's own smile), so its measured value stays.
# A kept mouth is the relaxed picture's too: its lips were brought together as far as what lies
# between them lets them, so that is where they rest.
AT_REST = {"mouth": (RELAXED, PARTLY, KEPT), "smile": (), "brows": (RELAXED, PARTLY), "lids": (KEPT, HIDDEN)}
CHANNELS: dict[str, tuple[str, ...]] = {
    "mouth": ("jawOpen", "mouthClose", "mouthUpperUpLeft", "mouthUpperUpRight",
              "mouthLowerDownLeft", "mouthLowerDownRight"),
    "smile": ("mouthSmileLeft", "mouthSmileRight"),
    "brows": ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "browDownLeft", "browDownRight"),
    "lids": ("eyeBlinkLeft", "eyeBlinkRight", "eyeSquintLeft", "eyeSquintRight",
             "eyeWideLeft", "eyeWideRight"),
}  # fmt: skip

@dataclass(frozen=True)
class PartRelaxation:
    """What the photo showed of one part, what was done with it and why."""

    part: str
    action: str
    reason: str
    found: tuple[tuple[str, float], ...]  # measures of the photo (blendshapes, face heights)
    after: tuple[tuple[str, float], ...] = ()  # the same measures on the relaxed picture

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise ValueError(f"part {self.part!r}; expected one of {', '.join(PARTS)}")
        if self.action not in ACTIONS:
            raise ValueError(f"action {self.action!r}; expected one of {', '.join(ACTIONS)}")

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "action": self.action, "reason": self.reason,
                "found": dict(self.found), "after": dict(self.after)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartRelaxation:
        return cls(part=str(data["part"]), action=str(data["action"]), reason=str(data["reason"]),
                   found=_pairs(data.get("found", {})), after=_pairs(data.get("after", {})))  # fmt: skip


def _pairs(values: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    return tuple((str(k), round(float(v), 4)) for k, v in values.items())


@dataclass(frozen=True)
class Relaxation:
    """The record of one photo's relaxation: one entry per part, in ``PARTS`` order."""

    parts: tuple[PartRelaxation, ...]
    warped: bool = False  # whether the picture was changed
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if tuple(p.part for p in self.parts) != PARTS:
            raise ValueError(f"a relaxation has one entry per part, in order: {', '.join(PARTS)}")

    def part(self, name: str) -> PartRelaxation:
        return self.parts[PARTS.index(name)]

    @property
    def kept(self) -> tuple[str, ...]:
        """The parts kept as the resting state."""
        return tuple(p.part for p in self.parts if p.action == KEPT)

    def resting(self, expression: np.ndarray) -> np.ndarray:
        """(52,) ``expression`` with the blendshapes of every part that is now at rest set to 0
        (``AT_REST``)."""
        out = np.asarray(expression, np.float32).copy()
        for p in self.parts:
            if p.action in AT_REST[p.part]:
                out[[index(name) for name in CHANNELS[p.part]]] = 0.0
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"warped": self.warped, "parts": [p.to_dict() for p in self.parts],
                "notes": list(self.notes)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Relaxation:
        """The record ``to_dict`` wrote; raises ValueError naming what is wrong."""
        try:
            parts = tuple(PartRelaxation.from_dict(p) for p in data["parts"])
            return cls(parts=parts, warped=bool(data["warped"]),
                       notes=tuple(str(n) for n in data.get("notes", ())))  # fmt: skip
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"relaxation record incomplete: {exc!r}") from None
