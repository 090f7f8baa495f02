"""The asyncio client does what the synchronous one does, one flow per resource, against the
same real service."""

from __future__ import annotations

import asyncio
import io

import pytest
from visavis_client import AsyncClient, AuthenticationError, Clip, NotFoundError

from tests.sdk.conftest import speech_wav

pytestmark = pytest.mark.timeout(300)


async def test_characters_and_clips(server, ada_key: str, photo: bytes, character_id: str) -> None:
    async with AsyncClient(server.url, api_key=ada_key) as ada:
        made = await ada.characters.create(io.BytesIO(photo), name="async")
        assert (await ada.characters.get(made.id)) == made
        assert made.id in [c.id async for c in ada.characters.iter_all(page_size=1)]
        report = await ada.characters.report(made.id)
        assert report is not None and report.warnings is not None

        told: list[Clip] = []

        async def progress(clip: Clip) -> None:
            told.append(clip)

        clip = await ada.clips.create(made.id, text="Hello from the async client.")
        done = await ada.clips.wait(clip.id, timeout_s=120, poll_s=0.2, on_progress=progress)
        assert done.status == "done" and told[-1].status == "done"
        video = await ada.clips.download(clip.id)
        assert video[4:8] == b"ftyp" and len(video) > 1000
        assert clip.id in [c.id async for c in ada.clips.iter_all()]

        await ada.characters.delete(made.id)
        with pytest.raises(NotFoundError):
            await ada.characters.get(made.id)


async def test_a_live_session(server, ada_key: str, character_id: str) -> None:
    async with AsyncClient(server.url, api_key=ada_key) as ada:
        session = await ada.sessions.create(character_id)
        states: list[str] = []

        async def speaking() -> None:
            async with ada.sessions.events(session.id) as events:
                async for event in events:
                    states.append(event.data.get("state", ""))
                    if event.data.get("state") == "speaking":
                        return

        watcher = asyncio.create_task(speaking())
        async with ada.sessions.frames(session.id) as frames:
            assert await ada.sessions.push_audio_file(session.id, speech_wav(1.5)) > 0
            received = []
            async for frame in frames:
                received.append(frame)
                if len(received) == 60:
                    break
        assert sum(f.speech for f in received) >= 10
        assert received[0].jpeg[:2] == b"\xff\xd8", "a JPEG picture"
        await asyncio.wait_for(watcher, 30)
        assert "speaking" in states
        assert (await ada.sessions.close(session.id)).status == "closed"


async def test_keys_and_webhooks(server, ada_key: str, character_id: str) -> None:
    async with AsyncClient(server.url, api_key=ada_key) as ada:
        created = await ada.keys.create(scope="publishable", origins=["https://a.example"],
                                        character_ids=[character_id])  # fmt: skip
        assert created.key.id in [k.id async for k in ada.keys.iter_all()]
        await ada.keys.revoke(created.key.id)
        async with AsyncClient(server.url, api_key=created.api_key) as revoked:
            with pytest.raises(AuthenticationError):
                await revoked.sessions.list()

        hook = await ada.webhooks.create("http://127.0.0.1:9/hook", ["session.opened"])
        page = await ada.webhooks.list(limit=100)
        assert hook.webhook.id in [h.id for h in page.data]
        assert (await ada.webhooks.get(hook.webhook.id)).url == "http://127.0.0.1:9/hook"
        assert (await ada.webhooks.deliveries(hook.webhook.id)).data == ()
        await ada.webhooks.delete(hook.webhook.id)
        with pytest.raises(NotFoundError):
            await ada.webhooks.get(hook.webhook.id)
