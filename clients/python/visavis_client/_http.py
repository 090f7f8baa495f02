"""One request, described once (``Call``) and sent by the sync or the async client with the
same retry rule: connection errors, 429 and 503 (and an Idempotency-Key still in flight) are
retried with exponential backoff, honouring Retry-After, a bounded number of times."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from visavis_client.errors import retry_after_of
from visavis_client.version import __version__

T = TypeVar("T")

USER_AGENT = f"visavis-client/{__version__} (python; httpx {httpx.__version__})"
RETRY_STATUSES = frozenset({429, 503})
_SAFE_METHODS = frozenset({"GET", "HEAD", "DELETE", "PUT"})
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Errors before any byte of the request left: retrying never does anything twice."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to retry. ``max_attempts`` counts the first try; the n-th retry
    waits ``backoff_s * 2**(n-1)`` (with jitter, at most ``max_backoff_s``), or the answer's
    Retry-After when it gives one, never more than ``max_retry_after_s``."""

    max_attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts {self.max_attempts!r} must be >= 1")
        if not (self.backoff_s >= 0 and self.max_backoff_s >= 0 and self.max_retry_after_s >= 0):
            raise ValueError("backoff_s, max_backoff_s and max_retry_after_s must be >= 0")

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` >= 1 tries made)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        backoff = min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)
        return backoff * (0.5 + random.random() / 2)


NO_RETRIES = RetryPolicy(max_attempts=1)


@dataclass(frozen=True, kw_only=True)
class Call(Generic[T]):
    """A request and how to read its answer (``parse`` gets a successful response)."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        params = {k: v for k, v in (self.params or {}).items() if v is not None}
        data = {k: v for k, v in (self.data or {}).items() if v is not None} or None
        return http.build_request(
            self.method, self.path, params=params, json=self.json, data=data,
            files=dict(self.files) if self.files else None, content=self.content,
            headers=dict(self.headers),
        )  # fmt: skip

    @property
    def replayable(self) -> bool:
        """Sending it twice does nothing twice (its method, or an Idempotency-Key)."""
        return self.method in _SAFE_METHODS or "Idempotency-Key" in self.headers


def retry_status(response: httpx.Response) -> bool:
    if response.status_code in RETRY_STATUSES:
        return True
    # the same Idempotency-Key while the first request is still being answered
    return response.status_code == 409 and "Retry-After" in response.headers


def retry_error(call: Call[Any], exc: httpx.TransportError) -> bool:
    return isinstance(exc, _UNSENT) or (call.replayable and not isinstance(exc, httpx.ProxyError))


def wait_for(policy: RetryPolicy, attempt: int, response: httpx.Response | None) -> float:
    return policy.delay(attempt, retry_after_of(response) if response is not None else None)


def base_headers(api_key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, **(extra or {})}
    if api_key:
        headers["X-API-Key"] = api_key
    return headers


def no_content(_: httpx.Response) -> None:
    return None


def json_of(response: httpx.Response) -> Any:
    return response.json()


def retry_delay(
    policy: RetryPolicy, call: Call[Any], attempt: int, outcome: httpx.Response | Exception
) -> float | None:
    """Seconds to wait before trying ``call`` again after ``attempt`` tries ended in
    ``outcome``, or None: give up (raise its error)."""
    if attempt >= policy.max_attempts:
        return None
    if isinstance(outcome, httpx.Response):
        return wait_for(policy, attempt, outcome) if retry_status(outcome) else None
    if isinstance(outcome, httpx.TransportError) and retry_error(call, outcome):
        return wait_for(policy, attempt, None)
    return None


def settings_from_env(base_url: str | None, api_key: str | None) -> tuple[str, str | None]:
    """``base_url`` and ``api_key``, each defaulting to VISAVIS_API_URL / VISAVIS_API_KEY (the
    LiveKit plugin's names), the URL then to a local service."""
    import os

    url = base_url or os.environ.get("VISAVIS_API_URL") or "http://127.0.0.1:8000"
    return url.rstrip("/"), api_key or os.environ.get("VISAVIS_API_KEY")


def stream_timeout(timeout: httpx.Timeout) -> httpx.Timeout:
    """A long-lived stream's: the events stream sends a keep-alive every 15 s."""
    return httpx.Timeout(timeout.connect, read=60.0, write=timeout.write, pool=timeout.pool)

