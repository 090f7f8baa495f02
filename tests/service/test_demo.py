"""The demo: a key and the astronaut made once, and a page that can make the avatar speak."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.commands.demo import prepare
from service.main import create_app
from service.routers.demo import DEMO_SENTENCE
from service.settings import Settings


def test_prepare_is_idempotent_and_the_page_is_served(tmp_path: Path) -> None:
    first = prepare(tmp_path)
    assert prepare(tmp_path) == first  # second run reuses the key and the character
    app = create_app(Settings(data_dir=tmp_path))
    app.state.demo = first
    with TestClient(app) as client:
        page = client.get("/demo")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert first["api_key"] in page.text and first["character_id"] in page.text
        assert DEMO_SENTENCE in page.text and "/v1/clips" in page.text
        headers = {"X-API-Key": first["api_key"]}
        assert (
            client.get(f"/v1/characters/{first['character_id']}", headers=headers).status_code
            == 200
        )


def test_page_is_off_without_the_demo(client: TestClient) -> None:
    response = client.get("/demo")
    assert response.status_code == 404 and "make demo" in response.json()["error"]["message"]


def test_damaged_demo_character_is_rebuilt(tmp_path: Path) -> None:
    import shutil

    first = prepare(tmp_path)
    shutil.rmtree(tmp_path / "characters" / first["character_id"])  # files lost
    again = prepare(tmp_path)
    assert again["api_key"] == first["api_key"]
    assert again["character_id"] != first["character_id"]
    assert (tmp_path / "characters" / again["character_id"]).is_dir()
