"""The synchronous SDK against a real service: characters (with pagination), clips (submit,
wait with progress, download, Idempotency-Key), webhooks (a real signed delivery), keys (a
revoked key is the typed 401) and the one error shape as typed exceptions."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import av
import pytest
from visavis_client import (
    AuthenticationError,
    Client,
    Clip,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    SignatureError,
    parse_delivery,
    verify_signature,
)
from visavis_client.signatures import SIGNATURE_HEADER

from tests.sdk.conftest import Receiver, speech_wav

pytestmark = pytest.mark.timeout(300)


def test_characters_are_made_from_a_photo_listed_page_by_page_read_and_deleted(
    ada: Client, photo: bytes, character_id: str, out_dir: Path
) -> None:
    path = out_dir / "me.png"
    path.write_bytes(photo)
    made = ada.characters.create(path, name="from a path", fit="contain")
    assert made.id.startswith("ch_") and made.name == "from a path" and made.fit == "contain"
    assert made.report is not None and made.report.found is not None
    assert made.report.found.faces_found >= 1 and "512" in made.report.framing

    first = ada.characters.list(limit=1)
    assert len(first.data) == 1 and first.next_cursor is not None
    second = ada.characters.list(limit=1, cursor=first.next_cursor)
    assert second.data[0].id != first.data[0].id
    every = [c.id for c in ada.characters.iter_all(page_size=1)]
    assert {made.id, character_id} <= set(every) and len(every) == len(set(every))

    assert ada.characters.get(made.id) == made
    report = ada.characters.report(made.id)
    assert report is not None and report.framing["512"].fit == "contain"
    assert ada.characters.preview(made.id)[:8] == b"\x89PNG\r\n\x1a\n"

    ada.characters.delete(made.id)
    with pytest.raises(NotFoundError) as missing:
        ada.characters.get(made.id)
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    assert made.id in missing.value.message
    assert made.id not in [c.id for c in ada.characters.iter_all()]


def test_a_file_that_is_not_a_photo_is_the_typed_422_naming_it(ada: Client) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        ada.characters.create(b"not an image at all", name="junk")
    assert refused.value.status == 422 and refused.value.code == "invalid_request"
    assert "image" in refused.value.message


def test_a_clip_is_submitted_waited_for_with_progress_downloaded_and_its_webhook_signed(
    ada: Client, character_id: str, receiver: Receiver, out_dir: Path
) -> None:
    hook = ada.webhooks.create(receiver.url, ["clip.done", "clip.failed"])
    assert hook.secret and hook.webhook.events == ("clip.done", "clip.failed")
    assert hook.webhook.id in [h.id for h in ada.webhooks.iter_all()]
    assert ada.webhooks.get(hook.webhook.id) == hook.webhook

    key = f"sdk-{uuid.uuid4()}"
    audio = speech_wav(1.0)
    clip = ada.clips.create(character_id, audio=audio, size="512", idempotency_key=key)
    assert clip.status in ("queued", "running", "done")
    again = ada.clips.create(character_id, audio=audio, size="512", idempotency_key=key)
    assert again.id == clip.id, "the same Idempotency-Key and body answer the first clip"
    with pytest.raises(ConflictError) as reused:
        ada.clips.create(character_id, audio=speech_wav(1.2), idempotency_key=key)
    assert reused.value.status == 409

    seen: list[Clip] = []
    done = ada.clips.wait(clip.id, timeout_s=120, poll_s=0.2, on_progress=seen.append)
    assert done.status == "done" and done.frames and done.frames >= 20
    assert seen and seen[-1].status == "done"
    progress = [c.progress for c in seen]
    assert progress == sorted(progress), "progress only grows"

    video = ada.clips.download(clip.id)
    assert video[4:8] == b"ftyp"
    with av.open(io.BytesIO(video)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == done.frames
    saved = ada.clips.download_to(clip.id, out_dir / "clip.mp4")
    assert saved.read_bytes() == video
    assert ada.clips.motion_csv(clip.id).startswith("Timecode")
    assert clip.id in [c.id for c in ada.clips.iter_all()]

    assert receiver.arrived.wait(30), "the clip.done delivery never came"
    headers, body = receiver.received[0]
    assert verify_signature(hook.secret, headers[SIGNATURE_HEADER], body)
    event = parse_delivery(hook.secret, headers, body)
    assert event["type"] == "clip.done" and event["data"]["id"] == clip.id
    assert not verify_signature(hook.secret, headers[SIGNATURE_HEADER], body + b" ")
    assert not verify_signature("another secret", headers[SIGNATURE_HEADER], body)
    with pytest.raises(SignatureError):
        parse_delivery(hook.secret, headers, json.dumps({**event, "data": {}}).encode())
    deliveries = ada.webhooks.deliveries(hook.webhook.id)
    assert deliveries.data[0].event == "clip.done"
    ada.webhooks.delete(hook.webhook.id)
    with pytest.raises(NotFoundError):
        ada.webhooks.get(hook.webhook.id)

    ada.clips.delete(clip.id)
    with pytest.raises(NotFoundError):
        ada.clips.get(clip.id)


def test_keys_are_issued_listed_and_revoked_and_a_revoked_key_is_the_typed_401(
    server, admin: Client, ada: Client, character_id: str
) -> None:
    kim = admin.keys.create(owner="kim", label="kim's server")
    assert kim.key.scope == "secret" and kim.api_key not in repr(kim)
    with Client(server.url, api_key=kim.api_key) as as_kim:
        assert [k.id for k in as_kim.keys.iter_all()] == [kim.key.id]
        with pytest.raises(PermissionDeniedError) as refused:
            as_kim.keys.create(scope="secret")
        assert refused.value.code == "forbidden"

    page_key = ada.keys.create(scope="publishable", origins=["https://shop.example"],
                               character_ids=[character_id], label="shop")  # fmt: skip
    assert page_key.api_key.startswith("pk_")
    listed = {k.id: k for k in ada.keys.iter_all()}
    assert listed[page_key.key.id].origins == ("https://shop.example",)
    assert listed[page_key.key.id].character_ids == (character_id,)
    ada.keys.revoke(page_key.key.id)
    assert page_key.key.id not in {k.id for k in ada.keys.iter_all()}

    admin.keys.revoke(kim.key.id)
    with Client(server.url, api_key=kim.api_key) as as_kim, pytest.raises(AuthenticationError) as no:
        as_kim.characters.list()
    assert (no.value.status, no.value.code) == (401, "unauthorized")
    assert no.value.request_id
