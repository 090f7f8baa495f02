"""A running app on a temporary data folder, two API keys (two owners) and a character."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.main import create_app
from service.settings import Settings

ADMIN_KEY = "admin-key-for-tests-0123456789"


def png_bytes(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def wav_bytes(samples: np.ndarray, rate: int = 16_000) -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


@pytest.fixture(scope="session")
def admin_key() -> str:
    return ADMIN_KEY


@pytest.fixture(scope="session")
def to_png():  # type: ignore[no-untyped-def]
    return png_bytes


@pytest.fixture(scope="session")
def to_wav():  # type: ignore[no-untyped-def]
    return wav_bytes


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service_data")


@pytest.fixture(scope="module")
def client(data_dir: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=data_dir, admin_key=SecretStr(ADMIN_KEY), max_upload_mb=2, max_audio_seconds=5
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def alice(client: TestClient) -> dict[str, str]:
    return {"X-API-Key": client.app.state.db.keys.create("alice")}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def bob(client: TestClient) -> dict[str, str]:
    key = client.app.state.db.keys.create("bob")  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def alice_character(client: TestClient, alice: dict[str, str], astronaut: np.ndarray) -> str:
    response = client.post(
        "/v1/characters",
        headers=alice,
        data={"name": "astro"},
        files={"image": ("astronaut.png", png_bytes(astronaut), "image/png")},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
