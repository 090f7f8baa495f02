"""Characters over REST: upload a face, see its preview, keep it private to its key."""

from __future__ import annotations

import io

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image


def test_create_read_list_preview(client: TestClient, alice, alice_character: str) -> None:
    got = client.get(f"/v1/characters/{alice_character}", headers=alice)
    assert got.status_code == 200 and got.json()["name"] == "astro"
    listed = client.get("/v1/characters", headers=alice).json()["data"]
    assert alice_character in [c["id"] for c in listed]
    preview = client.get(got.json()["preview_url"], headers=alice)
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(preview.content)).convert("RGB"))
    assert image.shape == (512, 512, 3) and image.std() > 20  # a picture, not a blank


def test_other_keys_see_nothing(client: TestClient, bob, alice_character: str) -> None:
    for method, path in (
        ("GET", f"/v1/characters/{alice_character}"),
        ("GET", f"/v1/characters/{alice_character}/preview"),
        ("DELETE", f"/v1/characters/{alice_character}"),
    ):
        response = client.request(method, path, headers=bob)
        assert response.status_code == 404, (method, path)
        assert alice_character in response.json()["error"]["message"]
    assert alice_character not in [
        c["id"] for c in client.get("/v1/characters", headers=bob).json()["data"]
    ]


def test_bad_uploads_are_named(client: TestClient, alice, to_png) -> None:
    not_image = client.post(
        "/v1/characters",
        headers=alice,
        files={"image": ("notes.txt", b"hello " * 100, "text/plain")},
    )
    assert not_image.status_code == 422 and "notes.txt" in not_image.json()["error"]["message"]

    blank = to_png(np.full((200, 200, 3), 90, np.uint8))
    no_face = client.post(
        "/v1/characters", headers=alice, files={"image": ("wall.png", blank, "image/png")}
    )
    assert no_face.status_code == 422
    assert "wall.png" in no_face.json()["error"]["message"] and "face" in no_face.json()["error"]["message"].lower()

    huge = client.post(
        "/v1/characters",
        headers=alice,
        files={"image": ("big.png", b"\0" * (3 * 1024 * 1024), "image/png")},
    )
    assert huge.status_code == 413 and "2 MB" in huge.json()["error"]["message"]

    # far beyond what any request may carry: refused from its Content-Length, body unread
    enormous = client.post(
        "/v1/characters",
        headers=alice,
        files={"image": ("huge.png", b"\0" * (6 * 1024 * 1024), "image/png")},
    )
    assert enormous.status_code == 413
    assert "request body is 6.0 MB" in enormous.json()["error"]["message"]

    missing = client.post("/v1/characters", headers=alice, data={"name": "x"})
    assert missing.status_code == 422 and "image" in missing.text


def test_delete(client: TestClient, alice, astronaut, to_png) -> None:
    made = client.post(
        "/v1/characters", headers=alice, files={"image": ("a.png", to_png(astronaut), "image/png")}
    )
    character_id = made.json()["id"]
    assert client.delete(f"/v1/characters/{character_id}", headers=alice).status_code == 204
    assert client.get(f"/v1/characters/{character_id}", headers=alice).status_code == 404
