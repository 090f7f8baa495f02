"""A live session through the synchronous SDK against the real service: speech pushed in
200 ms chunks comes back as frames over the WebSocket (JPEG pictures with their audio), the
events stream says it speaks, and the session's other inputs and its close behave as a user
sees them."""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image
from visavis_client import Client, ConflictError, InvalidRequestError, SessionEvent

from tests.sdk.conftest import SPEECH_RATE, speech_pcm

pytestmark = pytest.mark.timeout(300)
CHUNK_S = 0.2


def _read_events(client: Client, session_id: str, into: list[SessionEvent],
                 opened: threading.Event) -> None:  # fmt: skip
    with client.sessions.events(session_id) as events:
        opened.set()
        for event in events:
            into.append(event)


def test_pushed_speech_comes_back_as_frames_and_the_events_say_it_speaks(
    server, ada: Client, ada_key: str, character_id: str
) -> None:
    session = ada.sessions.create(character_id, seed=3)
    assert session.status == "open" and session.character_id == character_id
    events: list[SessionEvent] = []
    opened = threading.Event()
    with Client(server.url, api_key=ada_key) as listener:
        reader = threading.Thread(target=_read_events,
                                  args=(listener, session.id, events, opened), daemon=True)  # fmt: skip
        reader.start()
        assert opened.wait(30)
        with ada.sessions.frames(session.id) as frames:
            first = next(frames)
            pcm = speech_pcm(2.0)
            chunk = int(CHUNK_S * SPEECH_RATE) * 2
            parts = [pcm[k : k + chunk] for k in range(0, len(pcm), chunk)]
            for k, part in enumerate(parts):
                queued = ada.sessions.push_audio(session.id, part, end=k == len(parts) - 1)
            assert queued > 0
            ada.sessions.push_partner_audio(session.id, b"\x00\x01" * 3200)
            received = [first] + [next(frames) for _ in range(100)]

            speech = [f for f in received if f.speech]
            assert len(received) > 100 and len(speech) >= 25, "two seconds of speech came back"
            assert sum(f.n_valid for f in speech) >= 1.5 * SPEECH_RATE
            picture = Image.open(io.BytesIO(speech[0].jpeg))
            picture.load()
            assert picture.format == "JPEG" and picture.size == (512, 512)
            assert all(len(f.pcm) == 640 * 2 for f in received), "40 ms of 16 kHz PCM each"
            assert [f.index for f in received] == sorted(f.index for f in received)

            ada.sessions.trigger(session.id, "nod")
            with pytest.raises(InvalidRequestError) as unknown:
                ada.sessions.trigger(session.id, "cartwheel")
            assert "nod" in unknown.value.message
            assert ada.sessions.speak(session.id, "Hello there, nice to meet you.") > 0
            assert ada.sessions.interrupt(session.id) >= 0.0
            assert ada.sessions.get(session.id).status == "open"

            closed = ada.sessions.close(session.id)
            assert closed.status == "closed"
            rest = list(frames)  # the stream ends (1000) when the session is closed
            assert len(rest) < 500
        reader.join(30)
    assert not reader.is_alive(), "the events stream ends with the session"
    states = [e.data.get("state") for e in events if e.type == "state"]
    assert "speaking" in states, states
    with pytest.raises(ConflictError) as refused:
        ada.sessions.push_audio(session.id, speech_pcm(0.2))
    assert refused.value.code == "session_closed"
    assert session.id in [s.id for s in ada.sessions.iter_all()]

    resumed = ada.sessions.resume(session.id)
    assert resumed.status == "open"
    ada.sessions.close(session.id)
