"""A client generated from the service's own OpenAPI schema by a standard generator
(openapi-python-client, into a temporary folder) makes a character and uploads a clip (a
multipart file) to a real server, and reads errors in the one shape."""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.service.conftest import png_bytes
from tools.local_server import Server, running_server

ADMIN = "admin-key-for-generated-client-0123"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = {"admin_key": ADMIN, "warm_frame_workers": "false"}
    with running_server(tmp_path_factory.mktemp("generated_client"), settings) as running:
        yield running


@pytest.fixture(scope="module")
def client_package(server: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("generated")
    schema = folder / "openapi.json"
    schema.write_bytes(httpx.get(f"{server.url}/openapi.json", timeout=30).content)
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run([str(generator), "generate", "--path", str(schema), "--output-path",
                           str(folder / "visavis_generated"), "--meta", "none"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    return "visavis_generated"


def _wav(seconds: float, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        t = np.arange(int(seconds * rate)) / rate
        fh.writeframes((np.sin(2 * np.pi * 180 * t) * 8000).astype("<i2").tobytes())
    return buffer.getvalue()


def test_a_generated_client_uploads_a_clip(server: Server, client_package: str,
                                           astronaut: np.ndarray) -> None:  # fmt: skip
    package = importlib.import_module(client_package)
    create_character = importlib.import_module(
        f"{client_package}.api.characters.create_character_v1_characters_post")
    create_clip = importlib.import_module(f"{client_package}.api.clips.create_clip_v1_clips_post")
    get_clip = importlib.import_module(f"{client_package}.api.clips.get_clip_v1_clips_clip_id_get")
    models = importlib.import_module(f"{client_package}.models")
    types = importlib.import_module(f"{client_package}.types")
    client = package.AuthenticatedClient(base_url=server.url, token=ADMIN, prefix="Bearer",
                                         timeout=httpx.Timeout(120.0))  # fmt: skip

    image = types.File(payload=io.BytesIO(png_bytes(astronaut)), file_name="astronaut.png",
                       mime_type="image/png")  # fmt: skip
    made = create_character.sync_detailed(
        client=client, body=models.BodyCreateCharacterV1CharactersPost(image=image, name="astro"))
    assert made.status_code == 201, made.content
    character = made.parsed
    assert character.id.startswith("ch_") and character.width == 512

    speech = types.File(payload=io.BytesIO(_wav(0.6)), file_name="speech.wav",
                        mime_type="audio/wav")  # fmt: skip
    body = models.BodyCreateClipV1ClipsPost(character_id=character.id, audio=speech)
    queued = create_clip.sync_detailed(client=client, body=body)
    assert queued.status_code == 202, queued.content
    clip = queued.parsed
    assert clip.id.startswith("clp_")
    deadline = time.monotonic() + 240
    while str(clip.status) in ("queued", "running"):
        assert time.monotonic() < deadline, "the clip did not finish"
        time.sleep(0.5)
        clip = get_clip.sync(clip.id, client=client)
    assert str(clip.status) == "done", clip.error
    assert clip.frames == 15  # 0.6 s at 25 fps
    video = httpx.get(clip.video_url, headers={"X-API-Key": ADMIN}, timeout=60)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"

    missing = get_clip.sync_detailed("clp_missing", client=client)
    assert missing.status_code == 404
    assert missing.parsed.error.code == "not_found" and "clp_missing" in missing.parsed.error.message
