"""The real service in its own process (``visavis serve``: uvicorn with uvloop, frame worker
processes), on 127.0.0.1 and a free port, for tests about what a user of it sees."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

ADMIN_KEY = "admin-key-for-live-session-tests-0123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, data_dir: Path, **settings: str) -> None:
        """``settings``: extra ``VISAVIS_*`` variables (name without the prefix)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        env = {
            **os.environ,
            "VISAVIS_DATA_DIR": str(data_dir),
            "VISAVIS_ADMIN_KEY": ADMIN_KEY,
            **{f"VISAVIS_{name.upper()}": value for name, value in settings.items()},
        }
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.http = httpx.Client(base_url=self.url, timeout=60.0)
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/healthz").status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the server did not start in {timeout_s:g} s: {self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def key(self, owner: str) -> dict[str, str]:
        response = self.http.post(
            "/v1/keys", headers={"X-API-Key": ADMIN_KEY}, json={"owner": owner}
        )
        response.raise_for_status()
        return {"X-API-Key": response.json()["api_key"]}

    def character(self, headers: dict[str, str], image: np.ndarray) -> str:
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        response = self.http.post(
            "/v1/characters", headers=headers, data={"name": "astro"},
            files={"image": ("face.png", buffer.getvalue(), "image/png")},
        )  # fmt: skip
        response.raise_for_status()
        return str(response.json()["id"])

    def worker_pids(self) -> list[int]:
        """The frame worker processes (children started by multiprocessing's spawn)."""
        children = psutil.Process(self.process.pid).children()
        return [
            child.pid
            for child in children
            if "spawn_main" in " ".join(child.cmdline())
            and "resource_tracker" not in " ".join(child.cmdline())
        ]

    def metric(self, name: str, labels: str = "") -> float:
        """A sample of ``/metrics`` (0 when absent), e.g. ``metric("x_total", 'cause="y"')``."""
        wanted = f"{name}{{{labels}}}" if labels else name
        for line in self.http.get("/metrics").text.splitlines():
            if line.startswith(wanted + " "):
                return float(line.split()[-1])
        return 0.0

    def stop(self) -> None:
        """Stop the server (if a test did not already) and its frame workers."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:  # exited and reaped already
            children = []
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _, alive = psutil.wait_procs(children, timeout=10)
        for child in alive:
            child.kill()
        self.http.close()
        self._log.close()


class EventReader:
    """A session's ``/events`` read on a thread until the stream ends (or ``stop()``)."""

    def __init__(self, server: LiveServer, session_id: str, headers: dict[str, str]) -> None:
        self.events: list[dict[str, Any]] = []
        self.ended = threading.Event()
        self._opened = threading.Event()
        self._client = httpx.Client(base_url=server.url, timeout=httpx.Timeout(5.0, read=60.0))
        self._thread = threading.Thread(
            target=self._read, args=(f"/v1/sessions/{session_id}/events", headers), daemon=True
        )
        self._thread.start()
        if not self._opened.wait(30):
            raise RuntimeError("the events stream did not open")

    def _read(self, path: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", path, headers=headers) as response:
                self._opened.set()
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        self.events.append(json.loads(line[6:]))
        except httpx.HTTPError:
            pass
        finally:
            self._opened.set()
            self.ended.set()

    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    def stop(self) -> None:
        self._client.close()
        self._thread.join(10)


@contextlib.contextmanager
def viewer(server: LiveServer, session_id: str, headers: dict[str, str]) -> Iterator[Any]:
    from websockets.sync.client import connect

    with connect(
        f"{server.ws_url}/v1/sessions/{session_id}/stream",
        additional_headers=headers, max_size=None, open_timeout=30, close_timeout=5,
    ) as ws:  # fmt: skip
        yield ws


def close_of(server: LiveServer, session_id: str, headers: dict[str, str]) -> tuple[int, str]:
    """(code, reason) a viewer is closed with, reading frames until the close."""
    from websockets.exceptions import ConnectionClosed

    with viewer(server, session_id, headers) as ws:
        try:
            while True:
                ws.recv(timeout=30)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("unreachable")
