"""The synchronous client: ``Client(base_url, api_key=...)`` and its resources (characters,
clips, sessions, keys, webhooks). ``visavis_client.aio.AsyncClient`` is the same on asyncio."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from visavis_client._http import (
    Call,
    RetryPolicy,
    base_headers,
    no_content,
    retry_delay,
    settings_from_env,
    stream_timeout,
)
from visavis_client.errors import ConnectionFailedError, error_from_response
from visavis_client.models import Page
from visavis_client.resources import Characters, Clips, Keys, Sessions, Webhooks

T = TypeVar("T")


class Client:
    """A visavis service. ``base_url`` and ``api_key`` default to VISAVIS_API_URL and
    VISAVIS_API_KEY; ``retry`` bounds the retries of connection errors, 429 and 503; ``http``:
    your own ``httpx.Client`` (its base URL, headers and timeout are set here). Close it, or use it as a
    context manager."""

    def __init__(
        self, base_url: str | None = None, *, api_key: str | None = None,
        timeout: float | httpx.Timeout = 60.0, retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None, http: httpx.Client | None = None,
    ) -> None:  # fmt: skip
        self.base_url, self.api_key = settings_from_env(base_url, api_key)
        self.retry = retry or RetryPolicy()
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._http.base_url = httpx.URL(self.base_url)
        self._http.headers.update(base_headers(self.api_key, headers))
        self._http.timeout = httpx.Timeout(timeout)
        self.characters = Characters(self)
        self.clips = Clips(self)
        self.sessions = Sessions(self)
        self.keys = Keys(self)
        self.webhooks = Webhooks(self)

    def send(self, call: Call[T]) -> T:
        """Send ``call`` (retrying as ``retry`` says) and read its answer, or raise the typed
        error of the answer (``ApiError``) or ``ConnectionFailedError``."""
        with self.open(call) as response:
            response.read()
            return call.parse(response)

    @contextlib.contextmanager
    def open(self, call: Call[Any], *, timeout: httpx.Timeout | None = None
             ) -> Iterator[httpx.Response]:  # fmt: skip
        """A successful answer to ``call`` whose body is not read yet (a download, a stream)."""
        attempt = 0
        while True:
            attempt += 1
            request = call.request(self._http)
            if timeout is not None:
                request.extensions["timeout"] = timeout.as_dict()
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                delay = retry_delay(self.retry, call, attempt, exc)
                if delay is None:
                    raise ConnectionFailedError(f"{call.method} {call.path}: {exc!r}") from exc
                time.sleep(delay)
                continue
            if response.is_success:
                break
            try:
                response.read()
            finally:
                response.close()
            delay = retry_delay(self.retry, call, attempt, response)
            if delay is None:
                raise error_from_response(response)
            time.sleep(delay)
        try:
            yield response
        except httpx.TransportError as exc:
            raise ConnectionFailedError(f"{call.method} {call.path}: {exc!r}") from exc
        finally:
            response.close()

    def paginate(self, make: Callable[[str | None], Call[Page[T]]]) -> Iterator[T]:
        """Every item of a list, page after page (``make(cursor)`` is one page's call)."""
        cursor: str | None = None
        while True:
            page = self.send(make(cursor))
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def download(self, call: Call[Any], path: str | os.PathLike[str]) -> Path:
        """Stream a file answer into ``path`` (written whole or not at all)."""
        target = Path(path)
        partial = target.with_name(f".{target.name}.partial")
        try:
            with self.open(call) as response, partial.open("wb") as fh:
                for chunk in response.iter_bytes(1 << 16):
                    fh.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    def stream_lines(self, path: str) -> contextlib.AbstractContextManager[httpx.Response]:
        timeout = stream_timeout(self._http.timeout)
        call: Call[None] = Call(method="GET", path=path, parse=no_content,
                                headers={"Accept": "text/event-stream"})  # fmt: skip
        return self.open(call, timeout=timeout)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
