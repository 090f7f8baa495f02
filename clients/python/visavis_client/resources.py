"""The resources of the synchronous ``Client``; each method sends one call of ``_calls``."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from visavis_client import _calls as calls
from visavis_client.errors import (
    ClipFailedError,
    ConnectionFailedError,
    StreamClosedError,
    WaitTimeoutError,
)
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
from visavis_client.wire import SAMPLE_RATE, FileInput, SseParser, parse_frame, ws_url

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from visavis_client.client import Client

DEFAULT_PAGE = 100


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Characters(_Resource):
    def create(self, image: FileInput, *, name: str = "", fit: Fit | None = None,
               idempotency_key: str | None = None) -> Character:  # fmt: skip
        """A character from a face photo (jpg, png, webp: bytes, a path or an open file);
        ``fit``: cover (default), contain or face. Its ``report`` says what was found."""
        return self._client.send(calls.create_character(
            image, name=name, fit=fit, idempotency_key=idempotency_key))  # fmt: skip

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Character]:
        return self._client.send(calls.list_characters(limit, cursor))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE) -> Iterator[Character]:
        return self._client.paginate(lambda cursor: calls.list_characters(page_size, cursor))

    def get(self, character_id: str) -> Character:
        return self._client.send(calls.get_character(character_id))

    def report(self, character_id: str) -> CharacterReport | None:
        """What creation found in the photo and decided (None for characters made before)."""
        return self.get(character_id).report

    def preview(self, character_id: str) -> bytes:
        """The neutral frame as rendered, PNG."""
        return self._client.send(calls.character_preview(character_id))

    def delete(self, character_id: str) -> None:
        self._client.send(calls.delete_character(character_id))


class Clips(_Resource):
    def create(
        self, character_id: str, *, audio: FileInput | None = None, text: str | None = None,
        partner_audio: FileInput | None = None, mix_partner: bool | None = None,
        size: str | None = None, fit: Fit | None = None, format: str | None = None,
        seed: int | None = None, engine: str | None = None, voice: str | None = None,
        idempotency_key: str | None = None,
    ) -> Clip:  # fmt: skip
        """Queue a clip of ``audio`` (a file: bytes, path or open file) or ``text`` (local TTS).
        A repeat with the same ``idempotency_key`` and body answers the first clip."""
        options = {"mix_partner": mix_partner, "size": size, "fit": fit, "format": format,
                   "seed": seed, "engine": engine, "voice": voice}  # fmt: skip
        return self._client.send(calls.create_clip(
            character_id, audio=audio, text=text, partner_audio=partner_audio, options=options,
            idempotency_key=idempotency_key))  # fmt: skip

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Clip]:
        return self._client.send(calls.list_clips(limit, cursor))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE) -> Iterator[Clip]:
        return self._client.paginate(lambda cursor: calls.list_clips(page_size, cursor))

    def get(self, clip_id: str) -> Clip:
        return self._client.send(calls.get_clip(clip_id))

    def wait(self, clip_id: str, *, timeout_s: float = 600.0, poll_s: float = 0.5,
             on_progress: Callable[[Clip], None] | None = None) -> Clip:  # fmt: skip
        """Poll until the clip is done; ``on_progress(clip)`` on each change of its status or
        progress. ``ClipFailedError`` if it fails, ``WaitTimeoutError`` past ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        seen: tuple[str, float] | None = None
        while True:
            clip = self.get(clip_id)
            if on_progress is not None and (clip.status, clip.progress) != seen:
                seen = (clip.status, clip.progress)
                on_progress(clip)
            if clip.status == "failed":
                raise ClipFailedError(clip)
            if clip.status == "done":
                return clip
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(f"clip {clip_id} is {clip.status} after {timeout_s:g} s")
            time.sleep(min(poll_s, left))

    def download(self, clip_id: str) -> bytes:
        """The finished clip's video (MP4 or WebM, its ``format``)."""
        return self._client.send(calls.clip_file(clip_id, "video"))

    def download_to(self, clip_id: str, path: str | os.PathLike[str]) -> Path:
        """The video streamed into ``path`` (whole or not at all)."""
        return self._client.download(calls.clip_file(clip_id, "video"), path)

    def motion_csv(self, clip_id: str) -> str:
        """The clip's motion as Live Link Face CSV."""
        return self._client.send(calls.clip_file(clip_id, "motion.csv")).decode()

    def delete(self, clip_id: str) -> None:
        self._client.send(calls.delete_clip(clip_id))


class Sessions(_Resource):
    def create(
        self, character_id: str, *, size: str | None = None, fit: Fit | None = None,
        seed: int | None = None, persona: Mapping[str, float] | None = None,
        idempotency_key: str | None = None,
    ) -> Session:  # fmt: skip
        return self._client.send(calls.create_session(
            character_id, size=size, fit=fit, seed=seed, persona=persona,
            idempotency_key=idempotency_key))  # fmt: skip

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Session]:
        return self._client.send(calls.list_sessions(limit, cursor))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE) -> Iterator[Session]:
        return self._client.paginate(lambda cursor: calls.list_sessions(page_size, cursor))

    def get(self, session_id: str) -> Session:
        return self._client.send(calls.session_call(session_id, method="GET"))

    def resume(self, session_id: str) -> Session:
        return self._client.send(calls.session_call(session_id, "resume"))

    def close(self, session_id: str) -> Session:
        """Stop its engine (the session is kept: ``resume`` starts it again)."""
        return self._client.send(calls.session_call(session_id, "close"))

    def push_audio(self, session_id: str, pcm: bytes, *, sample_rate: int = SAMPLE_RATE,
                   channels: int = 1, end: bool = True) -> float:  # fmt: skip
        """Speech as raw 16-bit little-endian PCM (``end=False`` on all but an utterance's last
        chunk); answers the seconds of speech queued."""
        return self._client.send(calls.push_audio(
            session_id, pcm, sample_rate=sample_rate, channels=channels, end=end))  # fmt: skip

    def push_audio_file(self, session_id: str, audio: FileInput, *, end: bool = True) -> float:
        """Speech as an audio file (wav, mp3, ogg, ...), decoded by the service."""
        return self._client.send(calls.push_audio_file(session_id, audio, end=end))

    def push_partner_audio(self, session_id: str, pcm: bytes, *,
                           sample_rate: int = SAMPLE_RATE, channels: int = 1) -> None:  # fmt: skip
        """What the avatar hears (the partner's microphone): raw 16-bit PCM, in real time."""
        self._client.send(calls.push_partner_audio(
            session_id, pcm, sample_rate=sample_rate, channels=channels))  # fmt: skip

    def speak(self, session_id: str, text: str, *, engine: str | None = None,
              voice: str | None = None) -> float:  # fmt: skip
        """Say ``text`` with the service's local TTS; answers the seconds queued."""
        return self._client.send(calls.speak(session_id, text, engine=engine, voice=voice))

    def interrupt(self, session_id: str) -> float:
        """Stop speaking now; answers how far (seconds) the utterance had played."""
        return self._client.send(calls.interrupt(session_id))

    def trigger(self, session_id: str, gesture: str) -> None:
        """A gesture on the next frame: nod, shake, smile, surprise, frown."""
        self._client.send(calls.trigger(session_id, gesture))

    @contextlib.contextmanager
    def events(self, session_id: str) -> Iterator[Iterator[SessionEvent]]:
        """``with sessions.events(id) as events: for event in events: ...`` — the session's
        server-sent events until it closes or fails (leaving the block stops reading)."""
        with self._client.stream_lines(calls.events_path(session_id)) as response:
            yield SseParser().events(response.iter_lines())

    @contextlib.contextmanager
    def frames(self, session_id: str, *, open_timeout_s: float = 30.0
               ) -> Iterator[Iterator[Frame]]:  # fmt: skip
        """``with sessions.frames(id) as frames: for frame in frames: ...`` — the session's
        frames (25 a second, JPEG + PCM) over its WebSocket. Iteration ends when the session is
        closed; any other close raises ``StreamClosedError`` with the service's code."""
        from websockets.exceptions import InvalidHandshake
        from websockets.sync.client import connect

        url = ws_url(self._client.base_url, calls.stream_path(session_id))
        headers = {"X-API-Key": self._client.api_key} if self._client.api_key else {}
        try:
            ws = connect(url, additional_headers=headers, max_size=None,
                         open_timeout=open_timeout_s, close_timeout=5)  # fmt: skip
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise ConnectionFailedError(f"WebSocket {url}: {exc!r}") from exc
        with ws:
            yield _frames(ws)


def _frames(ws: ClientConnection) -> Iterator[Frame]:
    from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

    while True:
        try:
            message = ws.recv()
        except ConnectionClosedOK:
            return
        except ConnectionClosed as closed:
            raise closed_error(closed) from None
        if isinstance(message, bytes):
            yield parse_frame(message)


def closed_error(closed: Exception) -> StreamClosedError:
    received = getattr(closed, "rcvd", None)
    if received is None:
        return StreamClosedError(1006, "the connection was lost without a close frame")
    return StreamClosedError(received.code, received.reason)


class Keys(_Resource):
    def create(
        self, *, owner: str | None = None, scope: Scope = "secret", label: str = "",
        origins: Sequence[str] = (), character_ids: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> CreatedKey:  # fmt: skip
        """A new key (its secret is in ``api_key``, shown once). A secret key issues
        ``scope="publishable"`` keys for web pages: ``origins`` and ``character_ids``."""
        return self._client.send(calls.create_key(
            owner=owner, scope=scope, label=label, origins=origins, character_ids=character_ids,
            idempotency_key=idempotency_key))  # fmt: skip

    def list(self, *, limit: int | None = None, cursor: str | None = None,
             owner: str | None = None) -> Page[Key]:  # fmt: skip
        return self._client.send(calls.list_keys(limit, cursor, owner))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE, owner: str | None = None
                 ) -> Iterator[Key]:  # fmt: skip
        return self._client.paginate(lambda cursor: calls.list_keys(page_size, cursor, owner))

    def revoke(self, key_id: str) -> None:
        self._client.send(calls.revoke_key(key_id))


class Webhooks(_Resource):
    def create(self, url: str, events: Sequence[str], *,
               idempotency_key: str | None = None) -> CreatedWebhook:  # fmt: skip
        """Register ``url`` for ``events``; ``secret`` (shown once) signs every delivery."""
        return self._client.send(calls.create_webhook(url, events, idempotency_key))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Webhook]:
        return self._client.send(calls.list_webhooks(limit, cursor))

    def iter_all(self, *, page_size: int = DEFAULT_PAGE) -> Iterator[Webhook]:
        return self._client.paginate(lambda cursor: calls.list_webhooks(page_size, cursor))

    def get(self, webhook_id: str) -> Webhook:
        return self._client.send(calls.get_webhook(webhook_id))

    def delete(self, webhook_id: str) -> None:
        self._client.send(calls.delete_webhook(webhook_id))

    def deliveries(self, webhook_id: str, *, limit: int | None = None,
                   cursor: str | None = None) -> Page[Delivery]:  # fmt: skip
        """The delivery log, newest first."""
        return self._client.send(calls.list_deliveries(webhook_id, limit, cursor))

    def iter_deliveries(self, webhook_id: str, *, page_size: int = DEFAULT_PAGE
                        ) -> Iterator[Delivery]:  # fmt: skip
        return self._client.paginate(
            lambda cursor: calls.list_deliveries(webhook_id, page_size, cursor))
