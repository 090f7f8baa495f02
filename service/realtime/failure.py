"""How a session ends when its frame loop cannot go on: never silently.

Whatever stops a session's loop (its frame worker exited, the worker's step or render raised, the
loop itself raised, or no frame left for ``SessionOptions.stall_timeout_s``) becomes one
``SessionFailure``: a short cause for metrics and logs and a reason for the user. The engine
then publishes an ``error`` event, counts it, logs it, tells its failure listeners (the REST
manager stores it on the session record as ``failed``) and stops; ``frames()`` raises
``SessionFailedError`` so that a transport closes its viewer with the reason (the WebSocket:
close code 1011).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from service.realtime import metrics
from service.realtime.events import EventHub, SessionEvent
from service.realtime.options import SessionClosedError

log = logging.getLogger(__name__)

CAUSES = ("worker_exited", "worker_error", "stalled", "engine_error")
"""``worker_exited``: the frame worker process died (killed, crashed) with the session on it;
``worker_error``: the session's step or render raised in its worker; ``stalled``: no frame left
for ``stall_timeout_s``; ``engine_error``: anything else raised in the session's loop."""


class LoopError(RuntimeError):
    """An error of a session's frame loop that knows its cause (one of ``CAUSES``)."""

    def __init__(self, message: str, *, cause: str = "engine_error") -> None:
        if cause not in CAUSES:
            raise ValueError(f"cause {cause!r} is not one of {', '.join(CAUSES)}")
        super().__init__(message)
        self.cause = cause


class SessionStalledError(LoopError):
    def __init__(self, message: str) -> None:
        super().__init__(message, cause="stalled")


@dataclass(frozen=True)
class SessionFailure:
    cause: str
    """One of ``CAUSES``."""
    reason: str
    """What happened, for the session's owner (no paths, no tracebacks: those are logged)."""
    at: float = field(default_factory=time.time)

    @classmethod
    def of(cls, error: BaseException) -> SessionFailure:
        cause = error.cause if isinstance(error, LoopError) else "engine_error"
        text = str(error) if isinstance(error, LoopError) else f"{type(error).__name__}: {error}"
        return cls(cause=cause, reason=text.strip() or type(error).__name__)


class SessionFailedError(SessionClosedError):
    """The session's loop failed (``failure`` says why); it takes no input and gives no frames."""

    def __init__(self, failure: SessionFailure) -> None:
        super().__init__(f"session failed: {failure.reason}")
        self.failure = failure


FailureListener = Callable[[SessionFailure], None]


class FailureReport:
    """A session's one failure, reported once: log line, metric, ``error`` event, listeners."""

    def __init__(self, events: EventHub) -> None:
        self._events = events
        self._listeners: list[FailureListener] = []
        self.failure: SessionFailure | None = None

    def listen(self, listener: FailureListener) -> None:
        """Call ``listener(failure)`` when the session fails (at once if it already has)."""
        self._listeners.append(listener)
        if self.failure is not None:
            listener(self.failure)

    def report(self, error: BaseException) -> SessionFailure | None:
        """Record ``error`` as the session's failure; None if it had failed already."""
        if self.failure is not None:
            return None
        failure = self.failure = SessionFailure.of(error)
        log.error(
            "session failed cause=%s reason=%s", failure.cause, failure.reason, exc_info=error
        )
        metrics.SESSION_FAILURES.labels(cause=failure.cause).inc()
        self._events.publish(
            SessionEvent("error", {"cause": failure.cause, "reason": failure.reason})
        )
        for listener in self._listeners:
            try:
                listener(failure)
            except Exception:  # one listener's bug must not hide the failure from the others
                log.exception("session failure listener failed")
        return failure

    def raise_if_failed(self) -> None:
        if self.failure is not None:
            raise SessionFailedError(self.failure)
