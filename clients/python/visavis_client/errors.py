"""Typed errors: every error answer of the API is ``{"error": {"code": ..., "message": ...}}``;
each status has its class (a caller catches ``NotFoundError``, or switches on ``code``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from visavis_client.models import Clip


class VisavisError(Exception):
    """Anything this client raises."""


class ConnectionFailedError(VisavisError):
    """The service could not be reached (after the retries); ``__cause__`` is httpx's error."""


class ApiError(VisavisError):
    """An error answer of the API."""

    def __init__(
        self, *, status: int, code: str, message: str, retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        """Seconds the service asked to wait (429, 503, an Idempotency-Key still in flight)."""
        self.request_id = request_id
        """The ``X-Request-ID`` of the answer: the service's log lines of the request carry it."""


class BadRequestError(ApiError):
    """400: the request is malformed."""


class AuthenticationError(ApiError):
    """401: no API key, or one that is unknown or revoked."""


class PermissionDeniedError(ApiError):
    """403: the key may not do this (its scope, origins or characters)."""


class NotFoundError(ApiError):
    """404: no such resource for this key."""


class ConflictError(ApiError):
    """409: the resource's state forbids this (closed session, clip not finished, an
    Idempotency-Key reused with another body, ...); ``code`` says which."""


class GoneError(ApiError):
    """410: the clip's file is no longer in storage."""


class PayloadTooLargeError(ApiError):
    """413: the body is over the service's limit."""


class InvalidRequestError(ApiError):
    """422: a value is not accepted; the message names it."""


class RateLimitError(ApiError):
    """429: a limit or quota is reached; ``retry_after`` says when to try again."""


class ServiceUnavailableError(ApiError):
    """503: the service is starting, stopping or at capacity; see ``retry_after``."""


class ServerError(ApiError):
    """A 5xx other than 503."""


_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 410: GoneError, 413: PayloadTooLargeError,
    422: InvalidRequestError, 429: RateLimitError, 503: ServiceUnavailableError,
}  # fmt: skip


class ClipFailedError(VisavisError):
    """A clip waited for ended ``failed``; ``clip.error`` says why."""

    def __init__(self, clip: Clip) -> None:
        super().__init__(f"clip {clip.id} failed: {clip.error}")
        self.clip = clip


class WaitTimeoutError(VisavisError, TimeoutError):
    """A wait ran past its timeout."""


class StreamClosedError(VisavisError):
    """A session's frame stream was closed by the service for a reason other than the session
    being closed (4401 no valid key, 4404 no such session, 4409 not open or a viewer attached,
    4408 this viewer stopped reading, 1011 the session failed, 1013 starting or stopping)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"stream closed {code}: {reason}")
        self.code = code
        self.reason = reason


class SignatureError(VisavisError):
    """A webhook delivery whose signature does not verify (wrong secret, altered, or old)."""


def retry_after_of(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (an HTTP date is not used by this service)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_from_response(response: httpx.Response) -> ApiError:
    """The typed error of an error answer (one without the API's shape still gets one)."""
    code, message = _shape(response)
    cls = _CLASSES.get(response.status_code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else ApiError
    return cls(
        status=response.status_code, code=code, message=message,
        retry_after=retry_after_of(response), request_id=response.headers.get("X-Request-ID"),
    )  # fmt: skip


def _shape(response: httpx.Response) -> tuple[str, str]:
    fallback = "server_error" if response.status_code >= 500 else "client_error"
    try:
        body: Any = response.json()
        error = body["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:500] if response.text else ""
        return fallback, text or response.reason_phrase
