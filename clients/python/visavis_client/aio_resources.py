"""The resources of ``AsyncClient``: ``resources.py``'s methods, awaited (docstrings there)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visavis_client import _calls as calls
from visavis_client.errors import ClipFailedError, ConnectionFailedError, WaitTimeoutError
from visavis_client.models import (
    Character,
    CharacterReport,
    Clip,
    CreatedKey,
    CreatedWebhook,
    Delivery,
    Fit,
    Frame,
    Key,
    Page,
    Scope,
    Session,
    SessionEvent,
    Webhook,
)
from visavis_client.resources import DEFAULT_PAGE, closed_error
from visavis_client.wire import SAMPLE_RATE, FileInput, SseParser, parse_frame, ws_url

if TYPE_CHECKING:
    from visavis_client.aio import AsyncClient


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class AsyncCharacters(_Resource):
    async def create(self, image: FileInput, *, name: str = "", fit: Fit | None = None,
                     idempotency_key: str | None = None) -> Character:  # fmt: skip
        return await self._client.send(calls.create_character(
            image, name=name, fit=fit, idempotency_key=idempotency_key))  # fmt: skip

    async def list(self, *, limit: int | None = None, cursor: str | None = None
                   ) -> Page[Character]:  # fmt: skip
        return await self._client.send(calls.list_characters(limit, cursor))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE) -> AsyncIterator[Character]:
        return self._client.paginate(lambda cursor: calls.list_characters(page_size, cursor))

    async def get(self, character_id: str) -> Character:
        return await self._client.send(calls.get_character(character_id))

    async def report(self, character_id: str) -> CharacterReport | None:
        return (await self.get(character_id)).report

    async def preview(self, character_id: str) -> bytes:
        return await self._client.send(calls.character_preview(character_id))

    async def delete(self, character_id: str) -> None:
        await self._client.send(calls.delete_character(character_id))


ProgressCallback = Callable[[Clip], "Awaitable[None] | None"]
"""``on_progress`` of ``AsyncClips.wait``: a function or a coroutine function."""


class AsyncClips(_Resource):
    async def create(
        self, character_id: str, *, audio: FileInput | None = None, text: str | None = None,
        partner_audio: FileInput | None = None, mix_partner: bool | None = None,
        size: str | None = None, fit: Fit | None = None, format: str | None = None,
        seed: int | None = None, engine: str | None = None, voice: str | None = None,
        idempotency_key: str | None = None,
    ) -> Clip:  # fmt: skip
        options = {"mix_partner": mix_partner, "size": size, "fit": fit, "format": format,
                   "seed": seed, "engine": engine, "voice": voice}  # fmt: skip
        return await self._client.send(calls.create_clip(
            character_id, audio=audio, text=text, partner_audio=partner_audio, options=options,
            idempotency_key=idempotency_key))  # fmt: skip

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Clip]:
        return await self._client.send(calls.list_clips(limit, cursor))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE) -> AsyncIterator[Clip]:
        return self._client.paginate(lambda cursor: calls.list_clips(page_size, cursor))

    async def get(self, clip_id: str) -> Clip:
        return await self._client.send(calls.get_clip(clip_id))

    async def wait(self, clip_id: str, *, timeout_s: float = 600.0, poll_s: float = 0.5,
                   on_progress: ProgressCallback | None = None) -> Clip:  # fmt: skip
        deadline = time.monotonic() + timeout_s
        seen: tuple[str, float] | None = None
        while True:
            clip = await self.get(clip_id)
            if on_progress is not None and (clip.status, clip.progress) != seen:
                seen = (clip.status, clip.progress)
                told: Any = on_progress(clip)
                if told is not None:
                    await told
            if clip.status == "failed":
                raise ClipFailedError(clip)
            if clip.status == "done":
                return clip
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(f"clip {clip_id} is {clip.status} after {timeout_s:g} s")
            await asyncio.sleep(min(poll_s, left))

    async def download(self, clip_id: str) -> bytes:
        return await self._client.send(calls.clip_file(clip_id, "video"))

    async def download_to(self, clip_id: str, path: str | os.PathLike[str]) -> Path:
        return await self._client.download(calls.clip_file(clip_id, "video"), path)

    async def motion_csv(self, clip_id: str) -> str:
        return (await self._client.send(calls.clip_file(clip_id, "motion.csv"))).decode()

    async def delete(self, clip_id: str) -> None:
        await self._client.send(calls.delete_clip(clip_id))


class AsyncSessions(_Resource):
    async def create(
        self, character_id: str, *, size: str | None = None, fit: Fit | None = None,
        seed: int | None = None, persona: Mapping[str, float] | None = None,
        idempotency_key: str | None = None,
    ) -> Session:  # fmt: skip
        return await self._client.send(calls.create_session(
            character_id, size=size, fit=fit, seed=seed, persona=persona,
            idempotency_key=idempotency_key))  # fmt: skip

    async def list(self, *, limit: int | None = None, cursor: str | None = None
                   ) -> Page[Session]:  # fmt: skip
        return await self._client.send(calls.list_sessions(limit, cursor))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE) -> AsyncIterator[Session]:
        return self._client.paginate(lambda cursor: calls.list_sessions(page_size, cursor))

    async def get(self, session_id: str) -> Session:
        return await self._client.send(calls.session_call(session_id, method="GET"))

    async def resume(self, session_id: str) -> Session:
        return await self._client.send(calls.session_call(session_id, "resume"))

    async def close(self, session_id: str) -> Session:
        return await self._client.send(calls.session_call(session_id, "close"))

    async def push_audio(self, session_id: str, pcm: bytes, *, sample_rate: int = SAMPLE_RATE,
                         channels: int = 1, end: bool = True) -> float:  # fmt: skip
        return await self._client.send(calls.push_audio(
            session_id, pcm, sample_rate=sample_rate, channels=channels, end=end))  # fmt: skip

    async def push_audio_file(self, session_id: str, audio: FileInput, *,
                              end: bool = True) -> float:  # fmt: skip
        return await self._client.send(calls.push_audio_file(session_id, audio, end=end))

    async def push_partner_audio(self, session_id: str, pcm: bytes, *,
                                 sample_rate: int = SAMPLE_RATE, channels: int = 1) -> None:  # fmt: skip
        await self._client.send(calls.push_partner_audio(
            session_id, pcm, sample_rate=sample_rate, channels=channels))  # fmt: skip

    async def speak(self, session_id: str, text: str, *, engine: str | None = None,
                    voice: str | None = None) -> float:  # fmt: skip
        return await self._client.send(calls.speak(session_id, text, engine=engine, voice=voice))

    async def interrupt(self, session_id: str) -> float:
        return await self._client.send(calls.interrupt(session_id))

    async def trigger(self, session_id: str, gesture: str) -> None:
        await self._client.send(calls.trigger(session_id, gesture))

    @contextlib.asynccontextmanager
    async def events(self, session_id: str) -> AsyncIterator[AsyncIterator[SessionEvent]]:
        """``async with sessions.events(id) as events: async for event in events: ...``"""
        async with self._client.stream_lines(calls.events_path(session_id)) as response:
            yield _events(response.aiter_lines())

    @contextlib.asynccontextmanager
    async def frames(self, session_id: str, *, open_timeout_s: float = 30.0
                     ) -> AsyncIterator[AsyncIterator[Frame]]:  # fmt: skip
        """``async with sessions.frames(id) as frames: async for frame in frames: ...``"""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake

        url = ws_url(self._client.base_url, calls.stream_path(session_id))
        headers = {"X-API-Key": self._client.api_key} if self._client.api_key else {}
        try:
            ws = await connect(url, additional_headers=headers, max_size=None,
                               open_timeout=open_timeout_s, close_timeout=5)  # fmt: skip
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise ConnectionFailedError(f"WebSocket {url}: {exc!r}") from exc
        async with ws:
            yield _frames(ws)


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[SessionEvent]:
    parser = SseParser()
    async for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event


async def _frames(ws: Any) -> AsyncIterator[Frame]:
    from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

    while True:
        try:
            message = await ws.recv()
        except ConnectionClosedOK:
            return
        except ConnectionClosed as closed:
            raise closed_error(closed) from None
        if isinstance(message, bytes):
            yield parse_frame(message)


class AsyncKeys(_Resource):
    async def create(
        self, *, owner: str | None = None, scope: Scope = "secret", label: str = "",
        origins: Sequence[str] = (), character_ids: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> CreatedKey:  # fmt: skip
        return await self._client.send(calls.create_key(
            owner=owner, scope=scope, label=label, origins=origins, character_ids=character_ids,
            idempotency_key=idempotency_key))  # fmt: skip

    async def list(self, *, limit: int | None = None, cursor: str | None = None,
                   owner: str | None = None) -> Page[Key]:  # fmt: skip
        return await self._client.send(calls.list_keys(limit, cursor, owner))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE, owner: str | None = None
                 ) -> AsyncIterator[Key]:  # fmt: skip
        return self._client.paginate(lambda cursor: calls.list_keys(page_size, cursor, owner))

    async def revoke(self, key_id: str) -> None:
        await self._client.send(calls.revoke_key(key_id))


class AsyncWebhooks(_Resource):
    async def create(self, url: str, events: Sequence[str], *,
                     idempotency_key: str | None = None) -> CreatedWebhook:  # fmt: skip
        return await self._client.send(calls.create_webhook(url, events, idempotency_key))

    async def list(self, *, limit: int | None = None, cursor: str | None = None
                   ) -> Page[Webhook]:  # fmt: skip
        return await self._client.send(calls.list_webhooks(limit, cursor))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE) -> AsyncIterator[Webhook]:
        return self._client.paginate(lambda cursor: calls.list_webhooks(page_size, cursor))

    async def get(self, webhook_id: str) -> Webhook:
        return await self._client.send(calls.get_webhook(webhook_id))

    async def delete(self, webhook_id: str) -> None:
        await self._client.send(calls.delete_webhook(webhook_id))

    async def deliveries(self, webhook_id: str, *, limit: int | None = None,
                         cursor: str | None = None) -> Page[Delivery]:  # fmt: skip
        return await self._client.send(calls.list_deliveries(webhook_id, limit, cursor))

    def iter_deliveries(self, webhook_id: str, *, page_size: int = DEFAULT_PAGE
                        ) -> AsyncIterator[Delivery]:  # fmt: skip
        return self._client.paginate(
            lambda cursor: calls.list_deliveries(webhook_id, page_size, cursor))
