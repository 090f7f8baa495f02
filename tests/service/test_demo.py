"""The demo: a key and the astronaut made once, and pages that make the avatar speak with a
publishable key for their own origin; the secret key never reaches a page."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from service.commands.demo import demo_origins, prepare
from service.main import create_app
from service.routers.demo import DEMO_SENTENCE
from service.settings import Settings

ORIGIN = "http://127.0.0.1:8000"


def test_prepare_is_idempotent_and_the_pages_hold_no_secret(tmp_path: Path) -> None:
    first = prepare(tmp_path)
    assert prepare(tmp_path) == first  # second run reuses the keys and the character
    secret = json.loads((tmp_path / "demo.json").read_text())["api_key"]
    assert first["publishable_key"].startswith("pk_") and secret.startswith("vv_")
    app = create_app(Settings(data_dir=tmp_path, frame_workers=0, warm_frame_workers=False))
    app.state.demo = first
    with TestClient(app) as client:
        for path in ("/demo", "/demo/live"):
            page = client.get(path)
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert first["publishable_key"] in page.text and first["character_id"] in page.text
            assert secret not in page.text and secret.split("_")[2] not in page.text
            assert DEMO_SENTENCE in page.text
        assert "/v1/clips" in client.get("/demo").text
        page_key = {"X-API-Key": first["publishable_key"], "Origin": ORIGIN}
        character = f"/v1/characters/{first['character_id']}"
        assert client.get(character, headers=page_key).status_code == 200
        assert client.get(character, headers={**page_key, "Origin": "http://localhost:8000"}
                          ).status_code == 200  # fmt: skip
        # the page's key cannot do what a secret key does, nor work from another site
        assert client.get("/v1/characters", headers=page_key).status_code == 403
        assert client.delete(character, headers=page_key).status_code == 403
        assert client.get(character, headers={**page_key, "Origin": "https://x.example"}
                          ).status_code == 403  # fmt: skip


def test_a_new_origin_gets_a_new_publishable_key(tmp_path: Path) -> None:
    first = prepare(tmp_path, demo_origins("127.0.0.1", 8000))
    moved = prepare(tmp_path, demo_origins("127.0.0.1", 9000))
    assert moved["publishable_key"] != first["publishable_key"]
    assert moved["character_id"] == first["character_id"]
    app = create_app(Settings(data_dir=tmp_path, frame_workers=0, warm_frame_workers=False))
    with TestClient(app) as client:
        db = client.app.state.db  # type: ignore[attr-defined]
        assert db.keys.find(first["publishable_key"]) is None  # the old one is revoked
        assert db.keys.find(moved["publishable_key"]).origins == (
            "http://127.0.0.1:9000", "http://localhost:9000")


def test_page_is_off_without_the_demo(client: TestClient) -> None:
    response = client.get("/demo")
    assert response.status_code == 404 and "make demo" in response.json()["error"]["message"]


def test_damaged_demo_character_is_rebuilt(tmp_path: Path) -> None:
    import shutil

    first = prepare(tmp_path)
    shutil.rmtree(tmp_path / "characters" / first["character_id"])  # files lost
    again = prepare(tmp_path)
    assert again["character_id"] != first["character_id"]
    assert again["publishable_key"] != first["publishable_key"]  # scoped to the new character
    assert (tmp_path / "characters" / again["character_id"]).is_dir()
