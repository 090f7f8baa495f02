"""The asyncio client: ``AsyncClient`` mirrors ``Client`` method for method (``await`` them;
lists, events and frames are ``async for``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
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
from visavis_client.aio_resources import (
    AsyncCharacters,
    AsyncClips,
    AsyncKeys,
    AsyncSessions,
    AsyncWebhooks,
)
from visavis_client.errors import ConnectionFailedError, error_from_response
from visavis_client.models import Page

T = TypeVar("T")


class AsyncClient:
    """A visavis service, on asyncio (the arguments are ``Client``'s). ``await aclose()`` it,
    or use ``async with``."""

    def __init__(
        self, base_url: str | None = None, *, api_key: str | None = None,
        timeout: float | httpx.Timeout = 60.0, retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None, http: httpx.AsyncClient | None = None,
    ) -> None:  # fmt: skip
        self.base_url, self.api_key = settings_from_env(base_url, api_key)
        self.retry = retry or RetryPolicy()
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient()
        self._http.base_url = httpx.URL(self.base_url)
        self._http.headers.update(base_headers(self.api_key, headers))
        self._http.timeout = httpx.Timeout(timeout)
        self.characters = AsyncCharacters(self)
        self.clips = AsyncClips(self)
        self.sessions = AsyncSessions(self)
        self.keys = AsyncKeys(self)
        self.webhooks = AsyncWebhooks(self)

    async def send(self, call: Call[T]) -> T:
        async with self.open(call) as response:
            await response.aread()
            return call.parse(response)

    @contextlib.asynccontextmanager
    async def open(self, call: Call[Any], *, timeout: httpx.Timeout | None = None
                   ) -> AsyncIterator[httpx.Response]:  # fmt: skip
        """A successful answer to ``call`` whose body is not read yet."""
        attempt = 0
        while True:
            attempt += 1
            request = call.request(self._http)
            if timeout is not None:
                request.extensions["timeout"] = timeout.as_dict()
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                delay = retry_delay(self.retry, call, attempt, exc)
                if delay is None:
                    raise ConnectionFailedError(f"{call.method} {call.path}: {exc!r}") from exc
                await asyncio.sleep(delay)
                continue
            if response.is_success:
                break
            try:
                await response.aread()
            finally:
                await response.aclose()
            delay = retry_delay(self.retry, call, attempt, response)
            if delay is None:
                raise error_from_response(response)
            await asyncio.sleep(delay)
        try:
            yield response
        except httpx.TransportError as exc:
            raise ConnectionFailedError(f"{call.method} {call.path}: {exc!r}") from exc
        finally:
            await response.aclose()

    async def paginate(self, make: Callable[[str | None], Call[Page[T]]]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            page = await self.send(make(cursor))
            for item in page.data:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def download(self, call: Call[Any], path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        partial = target.with_name(f".{target.name}.partial")
        try:
            async with self.open(call) as response:
                with partial.open("wb") as fh:
                    async for chunk in response.aiter_bytes(1 << 16):
                        fh.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    def stream_lines(self, path: str) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
        timeout = stream_timeout(self._http.timeout)
        call: Call[None] = Call(method="GET", path=path, parse=no_content,
                                headers={"Accept": "text/event-stream"})  # fmt: skip
        return self.open(call, timeout=timeout)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
