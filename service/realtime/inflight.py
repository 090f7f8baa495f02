"""Frames between their tick and their departure: the step each sent to the frame backend, and
the renders still being drawn (the engine bounds how many)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from service.realtime.frames import InputSlot, StepResult

Step = asyncio.Future[StepResult]
"""A frame's step on the backend: its motion, state and the future picture if asked for."""


@dataclass
class InFlight:
    """A frame that ticked and waits for its motion and picture before it leaves."""

    slot: InputSlot  # the audio that leaves with it
    deadline: float
    woke: float
    give_up: float  # past this it leaves with the previous picture
    step: Step
    step_number: int  # counted from 1, as the backend counts its steps


class RenderTracker:
    """The steps that asked for a picture, oldest first, until their pictures are back."""

    def __init__(self) -> None:
        self._steps: deque[Step] = deque()

    def add(self, step: Step) -> None:
        self._steps.append(step)

    def in_flight(self) -> int:
        """Renders asked for whose pictures are not back (finished ones are forgotten)."""
        while self._steps and _finished(self._steps[0]):
            self._steps.popleft()
        return len(self._steps)


def _finished(step: Step) -> bool:
    if not step.done():
        return False
    if step.cancelled() or step.exception() is not None:
        return True  # the engine's emitter meets that error
    rendering = step.result().picture
    return rendering is None or rendering.done()
