"""Every endpoint of the API as a ``Call``: the one place that knows paths, parameters and
bodies; the sync and async clients only send them."""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from visavis_client._http import Call, no_content
from visavis_client.models import (
    Character,
    Clip,
    CreatedKey,
    CreatedWebhook,
    Delivery,
    Key,
    Page,
    Session,
    Webhook,
)
from visavis_client.wire import FileInput, audio_type, read_file

PCM_TYPE = "audio/L16"


def _id(value: str) -> str:
    """A path segment: an id can never reach another route."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")


def idempotent(key: str | None) -> dict[str, str]:
    """The Idempotency-Key of a create: the caller's, or a new one so that a retry after a lost
    answer gets the first answer instead of creating twice."""
    return {"Idempotency-Key": key or f"vvc-{uuid.uuid4()}"}


def _page_params(limit: int | None, cursor: str | None) -> dict[str, Any]:
    return {"limit": limit, "cursor": cursor}


# characters


def create_character(image: FileInput, *, name: str, fit: str | None,
                     idempotency_key: str | None) -> Call[Character]:  # fmt: skip
    filename, data = read_file(image, "photo.jpg")
    kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return Call(
        method="POST", path="/v1/characters", parse=lambda r: Character.from_json(r.json()),
        data={"name": name or None, "fit": fit}, files={"image": (filename, data, kind)},
        headers=idempotent(idempotency_key),
    )  # fmt: skip


def list_characters(limit: int | None, cursor: str | None) -> Call[Page[Character]]:
    return Call(method="GET", path="/v1/characters", params=_page_params(limit, cursor),
                parse=lambda r: Page.from_json(r.json(), Character.from_json))  # fmt: skip


def get_character(character_id: str) -> Call[Character]:
    return Call(method="GET", path=f"/v1/characters/{_id(character_id)}",
                parse=lambda r: Character.from_json(r.json()))  # fmt: skip


def character_preview(character_id: str) -> Call[bytes]:
    return Call(method="GET", path=f"/v1/characters/{_id(character_id)}/preview",
                parse=lambda r: r.content)  # fmt: skip


def delete_character(character_id: str) -> Call[None]:
    return Call(method="DELETE", path=f"/v1/characters/{_id(character_id)}", parse=no_content)


# clips


def create_clip(character_id: str, *, audio: FileInput | None, text: str | None,
                partner_audio: FileInput | None, options: Mapping[str, Any],
                idempotency_key: str | None) -> Call[Clip]:  # fmt: skip
    if (audio is None) == (text is None):
        raise ValueError("pass exactly one of audio (a file) or text")
    files: dict[str, tuple[str, bytes, str]] = {}
    for field, source in (("audio", audio), ("partner_audio", partner_audio)):
        if source is not None:
            name, data = read_file(source, f"{field}.wav")
            files[field] = (name, data, audio_type(name, data))
    form = {"character_id": character_id, "text": text,
            **{k: _form_value(v) for k, v in options.items()}}  # fmt: skip
    return Call(method="POST", path="/v1/clips", data=form, files=files or None,
                headers=idempotent(idempotency_key),
                parse=lambda r: Clip.from_json(r.json()))  # fmt: skip


def _form_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def list_clips(limit: int | None, cursor: str | None) -> Call[Page[Clip]]:
    return Call(method="GET", path="/v1/clips", params=_page_params(limit, cursor),
                parse=lambda r: Page.from_json(r.json(), Clip.from_json))  # fmt: skip


def get_clip(clip_id: str) -> Call[Clip]:
    return Call(method="GET", path=f"/v1/clips/{_id(clip_id)}",
                parse=lambda r: Clip.from_json(r.json()))  # fmt: skip


def clip_file(clip_id: str, what: str) -> Call[bytes]:
    """``what``: ``video`` or ``motion.csv``."""
    return Call(method="GET", path=f"/v1/clips/{_id(clip_id)}/{what}", parse=lambda r: r.content)


def delete_clip(clip_id: str) -> Call[None]:
    return Call(method="DELETE", path=f"/v1/clips/{_id(clip_id)}", parse=no_content)


# sessions


def create_session(character_id: str, *, size: str | None, fit: str | None, seed: int | None,
                   persona: Mapping[str, float] | None,
                   idempotency_key: str | None) -> Call[Session]:  # fmt: skip
    body: dict[str, Any] = {"character_id": character_id, "size": size, "fit": fit,
                            "seed": seed, "persona": dict(persona) if persona else None}  # fmt: skip
    return Call(method="POST", path="/v1/sessions",
                json={k: v for k, v in body.items() if v is not None},
                headers=idempotent(idempotency_key), parse=_session)  # fmt: skip


def _session(response: httpx.Response) -> Session:
    return Session.from_json(response.json())


def list_sessions(limit: int | None, cursor: str | None) -> Call[Page[Session]]:
    return Call(method="GET", path="/v1/sessions", params=_page_params(limit, cursor),
                parse=lambda r: Page.from_json(r.json(), Session.from_json))  # fmt: skip


def session_call(session_id: str, action: str = "", method: str = "POST") -> Call[Session]:
    """GET the session, or POST ``resume`` / ``close``."""
    path = f"/v1/sessions/{_id(session_id)}" + (f"/{action}" if action else "")
    return Call(method=method, path=path, parse=_session)


def push_audio(session_id: str, pcm: bytes, *, sample_rate: int, channels: int,
               end: bool) -> Call[float]:  # fmt: skip
    """Speech as raw 16-bit little-endian PCM; answers the seconds of speech queued."""
    return Call(method="POST", path=f"/v1/sessions/{_id(session_id)}/audio",
                params={"sample_rate": sample_rate, "channels": channels,
                        "end": "true" if end else "false"},
                content=bytes(pcm), headers={"Content-Type": PCM_TYPE}, parse=_queued)  # fmt: skip


def push_partner_audio(session_id: str, pcm: bytes, *, sample_rate: int,
                       channels: int) -> Call[None]:  # fmt: skip
    """What the avatar hears, as raw 16-bit little-endian PCM, sent in real time."""
    return Call(method="POST", path=f"/v1/sessions/{_id(session_id)}/partner-audio",
                params={"sample_rate": sample_rate, "channels": channels},
                content=bytes(pcm), headers={"Content-Type": PCM_TYPE}, parse=no_content)  # fmt: skip


def push_audio_file(session_id: str, audio: FileInput, *, end: bool) -> Call[float]:
    name, data = read_file(audio, "speech")
    return Call(method="POST", path=f"/v1/sessions/{_id(session_id)}/audio",
                params={"end": "true" if end else "false"}, content=data,
                headers={"Content-Type": audio_type(name, data)}, parse=_queued)  # fmt: skip


def _queued(response: httpx.Response) -> float:
    return float(response.json()["queued_seconds"])


def speak(session_id: str, text: str, *, engine: str | None,
          voice: str | None) -> Call[float]:  # fmt: skip
    body = {k: v for k, v in {"text": text, "engine": engine, "voice": voice}.items() if v}
    return Call(method="POST", path=f"/v1/sessions/{_id(session_id)}/speak", json=body,
                parse=_queued)  # fmt: skip


def interrupt(session_id: str) -> Call[float]:
    return Call(method="POST", path=f"/v1/sessions/{_id(session_id)}/interrupt",
                parse=lambda r: float(r.json()["position"]))  # fmt: skip


def trigger(session_id: str, gesture: str) -> Call[None]:
    return Call(method="POST", path=f"/v1/sessions/{_id(session_id)}/trigger",
                json={"gesture": gesture}, parse=no_content)  # fmt: skip


def events_path(session_id: str) -> str:
    return f"/v1/sessions/{_id(session_id)}/events"


def stream_path(session_id: str) -> str:
    return f"/v1/sessions/{_id(session_id)}/stream"


# keys


def create_key(*, owner: str | None, scope: str, label: str, origins: Sequence[str],
               character_ids: Sequence[str], idempotency_key: str | None) -> Call[CreatedKey]:  # fmt: skip
    body: dict[str, Any] = {"scope": scope, "label": label, "origins": list(origins),
                            "character_ids": list(character_ids)}  # fmt: skip
    if owner is not None:
        body["owner"] = owner
    return Call(method="POST", path="/v1/keys", json=body, headers=idempotent(idempotency_key),
                parse=lambda r: CreatedKey.from_json(r.json()))  # fmt: skip


def list_keys(limit: int | None, cursor: str | None, owner: str | None) -> Call[Page[Key]]:
    return Call(method="GET", path="/v1/keys",
                params={**_page_params(limit, cursor), "owner": owner},
                parse=lambda r: Page.from_json(r.json(), Key.from_json))  # fmt: skip


def revoke_key(key_id: str) -> Call[None]:
    return Call(method="DELETE", path=f"/v1/keys/{_id(key_id)}", parse=no_content)


# webhooks


def create_webhook(url: str, events: Sequence[str],
                   idempotency_key: str | None) -> Call[CreatedWebhook]:  # fmt: skip
    return Call(method="POST", path="/v1/webhooks", json={"url": url, "events": list(events)},
                headers=idempotent(idempotency_key),
                parse=lambda r: CreatedWebhook.from_json(r.json()))  # fmt: skip


def list_webhooks(limit: int | None, cursor: str | None) -> Call[Page[Webhook]]:
    return Call(method="GET", path="/v1/webhooks", params=_page_params(limit, cursor),
                parse=lambda r: Page.from_json(r.json(), Webhook.from_json))  # fmt: skip


def get_webhook(webhook_id: str) -> Call[Webhook]:
    return Call(method="GET", path=f"/v1/webhooks/{_id(webhook_id)}",
                parse=lambda r: Webhook.from_json(r.json()))  # fmt: skip


def delete_webhook(webhook_id: str) -> Call[None]:
    return Call(method="DELETE", path=f"/v1/webhooks/{_id(webhook_id)}", parse=no_content)


def list_deliveries(webhook_id: str, limit: int | None,
                    cursor: str | None) -> Call[Page[Delivery]]:  # fmt: skip
    return Call(method="GET", path=f"/v1/webhooks/{_id(webhook_id)}/deliveries",
                params=_page_params(limit, cursor),
                parse=lambda r: Page.from_json(r.json(), Delivery.from_json))  # fmt: skip
