"""Starting avatar workers: ``POST /v1/livekit/dispatch`` on the real app (no LiveKit server:
the worker's join fails and is retried, which is what we observe), and worker mode's job
metadata and registration name."""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi.testclient import TestClient

from service.transports.livekit.agent_worker import AGENT_NAME, build_server, parse_job_metadata
from service.transports.livekit.tokens import mint_avatar_token

KEY, SECRET = "APIdispatch", "dispatch-secret-" + "y" * 32
NOWHERE = "ws://127.0.0.1:9"  # nothing listens here: joins fail fast


def test_dispatch_with_a_token_then_stop(client: TestClient, alice, bob, character_id):
    token = mint_avatar_token(
        api_key=KEY, api_secret=SECRET, room="demo", identity="face", on_behalf_of="agent-1"
    )
    body = {"room": "demo", "url": NOWHERE, "character_id": character_id, "token": token}
    started = client.post("/v1/livekit/dispatch", headers=alice, json=body)
    assert started.status_code == 202, started.text
    dispatch = started.json()
    assert dispatch["room"] == "demo" and dispatch["avatar_identity"] == "face"
    assert token not in started.text

    deadline = time.monotonic() + 20
    while (
        client.get(f"/v1/livekit/dispatch/{dispatch['id']}", headers=alice).json()["reconnects"] < 1
    ):
        assert time.monotonic() < deadline, "the worker never tried again after a failed join"
        time.sleep(0.2)

    assert client.get(f"/v1/livekit/dispatch/{dispatch['id']}", headers=bob).status_code == 404
    assert [d["id"] for d in client.get("/v1/livekit/dispatch", headers=alice).json()["data"]] == [
        dispatch["id"]
    ]
    assert client.delete(f"/v1/livekit/dispatch/{dispatch['id']}", headers=alice).status_code == 204
    ended = client.get(f"/v1/livekit/dispatch/{dispatch['id']}", headers=alice).json()
    assert ended["state"] == "ended" and ended["end_reason"]


def test_dispatch_mints_the_token_from_key_and_secret(client: TestClient, alice, character_id):
    body = {
        "room": "minted",
        "url": NOWHERE,
        "character_id": character_id,
        "api_key": KEY,
        "api_secret": SECRET,
        "agent_identity": "agent-2",
        "avatar_identity": "face-2",
    }
    started = client.post("/v1/livekit/dispatch", headers=alice, json=body)
    assert started.status_code == 202, started.text
    assert SECRET not in started.text
    dispatch_id = started.json()["id"]
    worker = client.app.state.livekit.get(dispatch_id, owner="alice")  # type: ignore[attr-defined]
    assert worker.identity == "face-2"
    client.delete(f"/v1/livekit/dispatch/{dispatch_id}", headers=alice)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token": None}, "give a token"),
        ({"url": "ftp://x"}, "ws://"),
        ({"api_key": KEY, "api_secret": SECRET}, "not both"),
        ({"room": "other-room"}, "grants room 'demo'"),
        ({"token": "not-a-jwt"}, "not a LiveKit JWT"),
    ],
)
def test_bad_dispatch_requests_are_named(client, alice, character_id, change, message):
    token = mint_avatar_token(
        api_key=KEY, api_secret=SECRET, room="demo", identity="face", on_behalf_of="agent-1"
    )
    body = {"room": "demo", "url": NOWHERE, "character_id": character_id, "token": token}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    refused = client.post("/v1/livekit/dispatch", headers=alice, json=body)
    assert refused.status_code == 422
    assert message in refused.text


def test_dispatch_needs_an_owned_character(client, bob, character_id):
    token = mint_avatar_token(
        api_key=KEY, api_secret=SECRET, room="demo", identity="face", on_behalf_of="agent-1"
    )
    body = {"room": "demo", "url": NOWHERE, "character_id": character_id, "token": token}
    assert client.post("/v1/livekit/dispatch", headers=bob, json=body).status_code == 404
    assert client.post("/v1/livekit/dispatch", json=body).status_code == 401


def test_worker_mode_job_metadata_and_agent_name():
    job = parse_job_metadata('{"character_id": "ch_1", "agent_identity": "agent-5", "seed": 3}')
    assert (job.character_id, job.agent_identity, job.size, job.seed) == (
        "ch_1",
        "agent-5",
        "512",
        3,
    )
    with pytest.raises(ValueError, match="character_id"):
        parse_job_metadata("{}")
    with pytest.raises(ValueError, match="not JSON"):
        parse_job_metadata("{oops")
    with pytest.raises(ValueError, match="unknown job metadata fields: colour"):
        parse_job_metadata('{"character_id": "c", "colour": "red"}')
    with pytest.raises(ValueError, match="size"):
        parse_job_metadata('{"character_id": "c", "size": "4k"}')
    server = build_server(url="ws://lk.local", api_key=KEY, api_secret=SECRET)
    assert AGENT_NAME == "visavis-avatar"
    assert server._agent_name == AGENT_NAME  # what it registers with (explicit dispatch)
    with pytest.raises(ValueError, match="load_threshold"):
        build_server(load_threshold=0)


def test_minted_token_is_for_the_dispatch_room():
    token = mint_avatar_token(
        api_key=KEY, api_secret=SECRET, room="demo", identity="face", on_behalf_of="agent-1"
    )
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["video"]["room"] == "demo"


def test_worker_command_names_missing_settings(monkeypatch, capsys):
    from service.cli import main

    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["worker", "--url", "ws://lk.local"]) == 2
    error = capsys.readouterr().err
    assert "missing LiveKit settings" in error and "LIVEKIT_API_SECRET" in error
    assert "ws://lk.local" not in error.replace("--url / LIVEKIT_URL", "")


def test_one_avatar_per_agent_identity(client: TestClient, alice, character_id):
    body = {
        "room": "twice",
        "url": NOWHERE,
        "character_id": character_id,
        "api_key": KEY,
        "api_secret": SECRET,
        "agent_identity": "agent-3",
    }
    first = client.post("/v1/livekit/dispatch", headers=alice, json=body)
    assert first.status_code == 202
    second = client.post("/v1/livekit/dispatch", headers=alice, json={**body, "room": "other"})
    assert second.status_code == 409 and "agent-3" in second.json()["error"]["message"]
    client.delete(f"/v1/livekit/dispatch/{first.json()['id']}", headers=alice)


def test_busy_and_starting_answers_say_when_to_retry(client: TestClient, alice, character_id):
    """A plugin honours Retry-After: at capacity (429) and while starting (503) it is sent."""
    token = mint_avatar_token(
        api_key=KEY, api_secret=SECRET, room="full", identity="face-9", on_behalf_of="agent-9"
    )
    body = {"room": "full", "url": NOWHERE, "character_id": character_id, "token": token}
    dispatcher = client.app.state.livekit  # type: ignore[attr-defined]
    saved = dispatcher.max_workers
    dispatcher.max_workers = dispatcher.running()  # every slot taken
    try:
        busy = client.post("/v1/livekit/dispatch", headers=alice, json=body)
    finally:
        dispatcher.max_workers = saved
    assert busy.status_code == 429 and int(busy.headers["Retry-After"]) > 0
    assert busy.json()["error"]["code"] == "rate_limited"
    client.app.state.livekit = None  # type: ignore[attr-defined]
    try:
        starting = client.post("/v1/livekit/dispatch", headers=alice, json=body)
    finally:
        client.app.state.livekit = dispatcher  # type: ignore[attr-defined]
    assert starting.status_code == 503 and int(starting.headers["Retry-After"]) > 0
