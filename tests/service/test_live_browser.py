"""The live page in a real browser: headless Chromium with a fake microphone playing speech.

The page starts a session, shows its frames, sends the microphone as the partner stream (the
avatar must switch to listening) and makes the avatar speak typed text. Skipped when Chromium
and its driver are not installed (``scripts/setup.sh --with-browser`` installs them; ``make test``
does).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="chromium + chromedriver not installed"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    from service.commands.demo import demo_origins, prepare
    from service.main import create_app
    from service.settings import Settings

    data_dir = tmp_path_factory.mktemp("live_data")
    app = create_app(Settings(data_dir=data_dir))
    port = _free_port()
    app.state.demo = prepare(data_dir, demo_origins("127.0.0.1", port))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def microphone_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Speech then a pause, as the fake microphone plays it (in a loop)."""
    from audio.clocks import SAMPLE_RATE
    from audio.tts import synthesize

    speech = synthesize("Hello there, can you hear me? I am talking to you now.").samples
    track = np.concatenate([speech, np.zeros(SAMPLE_RATE, np.float32)])
    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(SAMPLE_RATE)
        fh.writeframes((np.clip(track, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def browser(microphone_file: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={microphone_file}",
                 "--autoplay-policy=no-user-gesture-required"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(DRIVER)))
    yield driver
    driver.quit()


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_live_page_shows_listens_and_speaks(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    def text(element_id: str) -> str:
        return str(browser.find_element(By.ID, element_id).text)

    def errors() -> str:
        shown = text("status")
        return shown if shown.startswith(("error", "microphone", "stream closed")) else ""

    browser.get(f"{server}/demo/live")
    browser.find_element(By.ID, "start").click()
    _wait_for("25 frames", lambda: errors() == "" and int(text("frames") or 0) >= 25)
    assert errors() == ""
    spread = browser.execute_script(
        "const c = document.getElementById('stage').getContext('2d');"
        "const d = c.getImageData(0, 0, 512, 512).data; let lo = 255, hi = 0;"
        "for (let i = 0; i < d.length; i += 4 * 97) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }"
        "return hi - lo;"
    )
    assert spread > 100, "the canvas shows no face"

    browser.find_element(By.ID, "mic").click()
    states: set[str] = set()

    def heard_and_listening() -> bool:
        states.add(text("state"))
        assert errors() == "", errors()
        return float(text("heard") or 0) > 1.0 and "listening" in states

    _wait_for("the avatar to listen to the microphone", heard_and_listening)
    browser.find_element(By.ID, "mic").click()  # off: the avatar's own voice is next

    before = int(text("speech") or 0)
    browser.find_element(By.ID, "speak").click()
    _wait_for("spoken frames", lambda: int(text("speech") or 0) >= before + 25)
    assert errors() == ""
