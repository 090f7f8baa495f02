"""The SDK against the real service (``visavis serve`` in its own process, frame workers and
all), one server for every test of this folder; the SDK is used as a user would (only the
admin key comes from the server's settings)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from visavis_client import Client, RetryPolicy

from tests.realtime.live_server import ADMIN_KEY, LiveServer

pytestmark = pytest.mark.timeout(300)

SPEECH_RATE = 16_000


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("sdk"),
        frame_workers="1",
        max_sessions="2",
        max_live_sessions_per_key="2",
        admission_missed_percent="100",  # a busy test machine must not refuse these sessions
        webhook_retry_base_s="0.5",
    )
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="package")
def admin(server: LiveServer) -> Iterator[Client]:
    with Client(server.url, api_key=ADMIN_KEY) as client:
        yield client


@pytest.fixture(scope="package")
def ada_key(admin: Client) -> str:
    return admin.keys.create(owner="ada", label="sdk tests").api_key


@pytest.fixture(scope="package")
def ada(server: LiveServer, ada_key: str) -> Iterator[Client]:
    with Client(server.url, api_key=ada_key, retry=RetryPolicy(max_attempts=2)) as client:
        yield client


@pytest.fixture(scope="package")
def photo(astronaut: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(astronaut).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="package")
def character_id(ada: Client, photo: bytes) -> str:
    return ada.characters.create(photo, name="astro").id


def speech_pcm(seconds: float, seed: int = 0) -> bytes:
    """Speech-like 16-bit PCM at 16 kHz: syllable-rate bursts of a voiced tone."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SPEECH_RATE)) / SPEECH_RATE
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) ** 0.5
    voiced = np.sin(2 * np.pi * 140 * t) + 0.4 * np.sin(2 * np.pi * 280 * t)
    noise = rng.standard_normal(t.size) * 0.02
    return bytes((np.clip(0.35 * envelope * voiced + noise, -1, 1) * 32767).astype("<i2").tobytes())


def speech_wav(seconds: float, seed: int = 0) -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(SPEECH_RATE)
        fh.writeframes(speech_pcm(seconds, seed))
    return buffer.getvalue()


class Receiver:
    """A local HTTP endpoint that takes webhook deliveries (204) and keeps them."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                receiver.arrived.set()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path
