"""A running app on a temporary data folder, two API keys and a stored character (fixtures)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from pydantic import SecretStr

    from service.main import create_app
    from service.settings import Settings

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("realtime_data"),
        admin_key=SecretStr("admin-key-for-realtime-tests-0123"),
        max_audio_seconds=10,
        frame_workers=1,  # the service's path: sessions on a worker process (one, started once)
        admission_missed_percent=100,  # a busy test machine must not refuse these sessions
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def alice(client: TestClient) -> dict[str, str]:
    return {"X-API-Key": client.app.state.db.keys.create("alice")}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def bob(client: TestClient) -> dict[str, str]:
    return {"X-API-Key": client.app.state.db.keys.create("bob")}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def character_id(client: TestClient, alice: dict[str, str], astronaut: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(astronaut).save(buffer, format="PNG")
    response = client.post(
        "/v1/characters",
        headers=alice,
        data={"name": "astro"},
        files={"image": ("astronaut.png", buffer.getvalue(), "image/png")},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
