"""A real service for tests and tools: ``uvicorn service.main:app`` in its own process on
127.0.0.1 and a free port, with ``VISAVIS_*`` settings from a dict; stopped (and waited for) on
exit. Its log is ``uvicorn-<port>.log`` in the data folder."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def metric(self, name: str) -> float:
        """The value of an unlabelled Prometheus counter or gauge from /metrics."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(f"{name} not in /metrics")


@contextlib.contextmanager
def running_server(data_dir: Path, settings: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "VISAVIS_DATA_DIR": str(data_dir), "VISAVIS_FRAME_WORKERS": "0",
           **{f"VISAVIS_{k.upper()}": v for k, v in settings.items()}}  # fmt: skip
    log = open(data_dir / f"uvicorn-{port}.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {Path(log.name).read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).json().get("status") == "ok":
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"uvicorn did not start in {START_TIMEOUT_S} s")
            time.sleep(0.2)
        yield Server(url=url, port=port, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
