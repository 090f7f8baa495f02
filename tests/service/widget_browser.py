"""Fixtures of the widget's browser tests: the service on one origin, plain pages on two more
(another port each), headless Chromium with a fake microphone, and helpers to read the page.

Skipped when Chromium and its driver are not installed (``scripts/setup.sh --with-browser``
installs them; ``make test`` does).
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import shutil
import socket
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
NEEDS_CHROMIUM = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="chromium + chromedriver not installed"
)
ADMIN_KEY = "admin-key-for-widget-tests-0123456789"
EVENTS = ("ready", "speaking", "listening", "idle", "state", "reconnecting", "ended", "error")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Service:
    url: str
    app: Any
    secret_key: str
    character_id: str


def start_service(data_dir: Path) -> tuple[Service, Callable[[], None]]:
    """The app on a free port, alice's secret key and a character of hers."""
    import httpx
    import uvicorn

    from service.commands.demo import demo_origins, prepare
    from service.main import create_app
    from service.settings import Settings

    # admission control is not what these tests are about: a busy machine must not refuse them
    settings = Settings(data_dir=data_dir, admin_key=SecretStr(ADMIN_KEY), frame_workers=1,
                        admission_missed_percent=100)
    app = create_app(settings)
    port = free_port()
    app.state.demo = prepare(data_dir, demo_origins("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=60) as http:
        made = http.post("/v1/keys", headers={"X-API-Key": ADMIN_KEY}, json={"owner": "alice"})
        assert made.status_code == 201, made.text
        secret = made.json()["api_key"]
        png = _astronaut_png()
        character = http.post("/v1/characters", headers={"X-API-Key": secret}, data={"name": "astro"},
                              files={"image": ("astronaut.png", png, "image/png")})  # fmt: skip
        assert character.status_code == 201, character.text

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return Service(url, app, secret, character.json()["id"]), stop


def _astronaut_png() -> bytes:
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


def publishable_key(service: Service, origin: str) -> str:
    import httpx

    made = httpx.post(f"{service.url}/v1/keys", headers={"X-API-Key": service.secret_key},
                      json={"scope": "publishable", "origins": [origin],
                            "character_ids": [service.character_id], "label": "widget test"})  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["api_key"])


class Cable:
    """A TCP proxy in front of the service, as the network between a page and it: ``cut()``
    drops every connection through it and refuses new ones until ``mend()``."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._up = True
        self._open: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = self._call(asyncio.start_server(self._connect, "127.0.0.1", self.port))

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if not self._up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open -= {writer, up_writer}

    async def _cut(self) -> None:
        self._up = False
        for writer in list(self._open):
            writer.transport.abort()

    def cut(self) -> None:
        self._call(self._cut())

    def mend(self) -> None:
        self._up = True

    async def _shutdown(self) -> None:
        await self._cut()
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class Pages:
    """A plain web site on its own origin: ``put(path, html)`` then open ``url(path)``."""

    def __init__(self) -> None:
        pages: dict[str, bytes] = {}
        self.pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def put(self, path: str, body: str) -> str:
        self.pages[path] = body.encode()
        return self.origin + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def widget_page(
    service_url: str, character: str, key: str, *, before: str = "", **attributes: str
) -> str:
    """A shop's page with the widget's tag, a text field and a Say button; it records the
    widget's DOM events in ``window.__events`` (``before``: a script run before the widget)."""
    extra = " ".join(f'data-{name}="{html.escape(value)}"' for name, value in attributes.items())
    names = ", ".join(f'"{name}"' for name in EVENTS)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>A shop</title></head>
<body><h1>A shop that talks</h1>
<p><input id="text" aria-label="text"> <button id="say">Say</button></p>
<script>
window.__events = [];
for (const name of [{names}]) {{
  document.addEventListener("visavis:" + name,
    (e) => window.__events.push({{name, detail: e.detail, at: performance.now()}}));
}}
{before}
document.getElementById("say").onclick = () =>
  visavis.say(document.getElementById("text").value).catch((e) => window.__events.push({{name: "say-failed", detail: e.message}}));
</script>
<script src="{service_url}/v1/widget.js" data-character="{character}" data-key="{key}" {extra} async></script>
</body></html>"""


def microphone_wav(path: Path) -> Path:
    """Speech then a pause, as the fake microphone plays it (in a loop)."""
    from audio.clocks import SAMPLE_RATE
    from audio.tts import synthesize

    speech = synthesize("Hello there, can you hear me? I am talking to you now.").samples
    track = np.concatenate([speech, np.zeros(SAMPLE_RATE, np.float32)])
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(SAMPLE_RATE)
        fh.writeframes((np.clip(track, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def chromium(microphone: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={microphone}",
                 "--autoplay-policy=no-user-gesture-required"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=DriverService(executable_path=str(DRIVER)))


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(0.2)
    return result


def events(browser: Any, name: str | None = None) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = browser.execute_script("return window.__events || []")
    return [e for e in got if name is None or e["name"] == name]


def no_errors(browser: Any) -> None:
    errors = events(browser, "error") + events(browser, "say-failed")
    assert not errors, errors


def stats(browser: Any) -> dict[str, Any]:
    return dict(browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; visavis.stats().then(done);"
    ))  # fmt: skip


SNAPSHOTS_JS = """
const [count, everyMs, done] = arguments;
const host = visavis.element.shadowRoot;
const video = host.querySelector("video"), canvas = host.querySelector("canvas");
const source = video.hidden ? canvas : video;
const width = source.videoWidth || source.width, height = source.videoHeight || source.height;
const board = document.createElement("canvas");
board.width = width; board.height = height;
const shots = [];
const take = () => {
  board.getContext("2d").drawImage(source, 0, 0, width, height);
  shots.push(board.toDataURL("image/jpeg", 0.92));
  if (shots.length >= count) done(shots); else setTimeout(take, everyMs);
};
take();
"""


def snapshots(browser: Any, count: int, every_ms: int) -> list[np.ndarray]:
    """``count`` pictures of what the player shows, ``every_ms`` apart, as RGB arrays."""
    from PIL import Image

    urls = browser.execute_async_script(SNAPSHOTS_JS, count, every_ms)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
            for url in urls]  # fmt: skip


def jaw_openings(pictures: list[np.ndarray]) -> list[float]:
    """MediaPipe's jawOpen of each picture (0 where no face is found)."""
    from avatars.face import FaceMeasurer

    with FaceMeasurer(max_faces=1) as measurer:
        found = [measurer.measure(picture) for picture in pictures]
    return [m.blendshapes.get("jawOpen", 0.0) if m is not None else 0.0 for m in found]


def spread(picture: np.ndarray) -> int:
    return int(picture.max()) - int(picture.min())

