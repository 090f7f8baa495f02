"""Idempotency-Key on the creating POSTs: a repeat with the same key and body gets the first
answer (nothing is made twice), another body is 409."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_repeated_clip_request_makes_one_clip(client: TestClient, alice, alice_character,
                                                to_wav) -> None:  # fmt: skip
    import numpy as np

    speech = to_wav(np.zeros(8000, np.float32))
    headers = {**alice, "Idempotency-Key": "clip-0001"}

    def post(text_or_file: dict, key: dict) -> object:
        return client.post("/v1/clips", headers=key, data={"character_id": alice_character},
                           files=text_or_file)  # fmt: skip

    first = post({"audio": ("a.wav", speech, "audio/wav")}, headers)
    again = post({"audio": ("a.wav", speech, "audio/wav")}, headers)  # a new multipart boundary
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    listed = client.get("/v1/clips?limit=100", headers=alice).json()["data"]
    assert [c["id"] for c in listed].count(first.json()["id"]) == 1
    other = post({"audio": ("a.wav", to_wav(np.ones(8000, np.float32) * 0.1), "audio/wav")},
                 headers)  # fmt: skip
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["error"]["message"]
    # the same key of another API key is another key
    assert "idempotent-replayed" not in post({"audio": ("a.wav", speech, "audio/wav")},
                                              {**alice, "Idempotency-Key": "clip-0002"}).headers


def test_json_bodies_compare_by_meaning(client: TestClient, admin_key: str) -> None:
    headers = {"X-API-Key": admin_key, "Idempotency-Key": "key-for-ivy",
               "Content-Type": "application/json"}  # fmt: skip
    first = client.post("/v1/keys", headers=headers, content=b'{"owner": "ivy", "label": "x"}')
    again = client.post("/v1/keys", headers=headers, content=b'{"label":"x","owner":"ivy"}')
    assert first.status_code == again.status_code == 201
    assert again.json()["api_key"] == first.json()["api_key"]
    listed = client.get("/v1/keys?owner=ivy", headers={"X-API-Key": admin_key}).json()["data"]
    assert len(listed) == 1
    changed = client.post("/v1/keys", headers=headers, content=b'{"owner": "ivy", "label": "y"}')
    assert changed.status_code == 409
    bad = client.post("/v1/keys", headers={**headers, "Idempotency-Key": "x" * 300},
                      content=b'{"owner": "ivy"}')  # fmt: skip
    assert bad.status_code == 422 and "Idempotency-Key" in bad.json()["error"]["message"]


def test_a_refusal_is_repeated_as_it_was(client: TestClient, alice) -> None:
    headers = {**alice, "Idempotency-Key": "retry-me"}
    missing = client.post("/v1/sessions", headers=headers, json={"character_id": "ch_missing"})
    assert missing.status_code == 404
    # a 4xx answer is the answer: repeated as it was
    again = client.post("/v1/sessions", headers=headers, json={"character_id": "ch_missing"})
    assert again.status_code == 404 and again.headers["idempotent-replayed"] == "true"
