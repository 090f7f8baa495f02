"""The visavis REST calls the plugin makes, retried by LiveKit's ``APIConnectOptions`` and
failing with LiveKit's own errors, so an agent handles visavis like any other LiveKit plugin.

Retried: connection failures, 5xx and 429 (waiting as long as ``Retry-After`` asks, else with
exponential backoff from ``retry_interval``). Not retried: other 4xx (the request itself is
wrong), and a POST whose response was lost (it may have started an avatar already).
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
from typing import Any

import httpx
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
)

from .log import logger
from .version import __version__

RESPONSE_TIMEOUT = 30.0
"""Seconds to wait for visavis's answer once connected: starting a worker loads the character.
(``conn_options.timeout`` bounds connecting.)"""
MAX_WAIT = 30.0
"""The longest pause between attempts: backoff stops growing here, and a ``Retry-After`` above
it fails at once rather than keep the agent's user waiting for a face."""
_REPEATABLE = frozenset({"GET", "PUT", "DELETE"})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport failures before the request left this process: any request may be repeated."""


class VisavisAPI:
    """The ``/v1/livekit/dispatch`` calls of one visavis service."""

    def __init__(
        self,
        *,
        api_url: str,
        api_key: str,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._api_key = api_key
        self._conn_options = conn_options
        self._http = http_client
        self._owns_http = http_client is None
        self._timeout = httpx.Timeout(RESPONSE_TIMEOUT, connect=conn_options.timeout)

    async def create_dispatch(self, body: dict[str, Any]) -> str:
        """Ask visavis to send an avatar worker into a room; its dispatch id."""
        response = await self._request(
            "POST", "/v1/livekit/dispatch", json=body, max_retry=self._conn_options.max_retry
        )
        return str(response.json()["id"])

    async def delete_dispatch(self, dispatch_id: str) -> None:
        """Take the avatar out of its room. One attempt: this runs while the job shuts down."""
        await self._request("DELETE", f"/v1/livekit/dispatch/{dispatch_id}", max_retry=0)

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _request(
        self, method: str, path: str, *, max_retry: int, json: Any = None
    ) -> httpx.Response:
        attempts = max_retry + 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._client().request(
                    method,
                    f"{self._api_url}{path}",
                    json=json,
                    headers={
                        "X-API-Key": self._api_key,
                        "User-Agent": f"livekit-plugins-visavis/{__version__}",
                    },
                    timeout=self._timeout,
                )
            except httpx.TransportError as exc:
                error: APIError = self._connection_error(method, path, exc, attempt, attempts)
                wait = self._backoff(attempt)
            else:
                if response.is_success:
                    return response
                asked = _retry_after(response)
                error = _status_error(method, path, response, asked, attempt, attempts)
                wait = self._backoff(attempt) if asked is None else asked
            if not error.retryable or attempt == attempts:
                raise error
            logger.warning(
                "visavis request failed, retrying",
                extra={"method": method, "path": path, "attempt": attempt, "wait": wait,
                       "error": error.message},
            )  # fmt: skip
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient()
        return self._http

    def _backoff(self, attempt: int) -> float:
        return float(min(self._conn_options.retry_interval * 2 ** (attempt - 1), MAX_WAIT))

    def _connection_error(
        self, method: str, path: str, exc: httpx.TransportError, attempt: int, attempts: int
    ) -> APIConnectionError:
        repeatable = method in _REPEATABLE or isinstance(exc, _NOT_SENT)
        message = (
            f"visavis at {self._api_url} failed on {method} {path}: "
            f"{type(exc).__name__}: {exc or 'no detail'} (attempt {attempt} of {attempts})"
        )
        if not repeatable:
            message += "; the request may have reached visavis, so it is not repeated"
        kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        error = kind(message, retryable=repeatable)
        error.__cause__ = exc
        return error


def _status_error(
    method: str,
    path: str,
    response: httpx.Response,
    retry_after: float | None,
    attempt: int,
    attempts: int,
) -> APIStatusError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    status = response.status_code
    message = f"visavis answered {method} {path} with {status}: {_detail(body)}"
    retryable = status >= 500 or status == 429
    if retryable and retry_after is not None and retry_after > MAX_WAIT:
        retryable = False  # and so LiveKit's own retry loops do not wait either
        message += f"; it asks to retry after {retry_after:g} s, longer than {MAX_WAIT:g} s"
    return APIStatusError(
        f"{message} (attempt {attempt} of {attempts})",
        status_code=status,
        request_id=response.headers.get("x-request-id"),
        body=body,
        retryable=retryable,
    )


def _detail(body: Any) -> str:
    """The service's message, in its error shape (``{"error": {"message"}}``, or FastAPI's
    ``{"detail"}``), else the start of the body."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("detail"):
            return str(body["detail"])
    return str(body)[:300] or "no body"


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds that ``Retry-After`` asks for (a number, or an HTTP date), if it is sent."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: fall back to backoff
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
