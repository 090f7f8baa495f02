"""CPU per session for each transport, through the real service (``make bench``'s "transports").

It starts ``visavis serve`` in its own process (frame workers as configured: one per core by
default), builds the astronaut character, and for each transport opens sessions that speak a
paragraph (local TTS) while one viewer per session runs in a process of its own: ``none`` (no
viewer: the session's own cost), ``websocket`` (JPEG + PCM per frame, ``/stream``) and ``webrtc``
(VP8/H.264 + Opus, ``tools.webrtc_client``). Over the same window it reads the CPU time of the
server and its frame workers (Linux /proc) and each session's missed frames, and prints CPU per
session in percent of one core and in ms per frame, beside the machine's load average (other
work on the machine inflates every row alike).

    .venv/bin/python -m tools.transport_bench [--seconds 15] [--sessions 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from audio.clocks import FPS

TRANSPORTS = ("none", "websocket", "webrtc")
WARM_S = 4.0
PARAGRAPH = (
    "Hello, and welcome. I am a talking face for your voice agent. I listen while you speak, "
    "and when it is my turn I answer with my own voice, moving my lips, my head and my brows. "
    "This paragraph is long enough to keep me talking for the whole measurement window, so "
    "that the picture changes the way it does in a real conversation, not only while idle."
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tree_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children so far (Linux /proc)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


class Service:
    """``visavis serve`` on a free port with a temporary data folder and an admin key."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = "transport-bench-admin-key-0123456789"
        env = {**os.environ, "VISAVIS_DATA_DIR": str(data_dir), "VISAVIS_ADMIN_KEY": self.key}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).json()["status"] == "ok":
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("visavis serve did not become ready within 120 s")
            time.sleep(0.3)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _character(http: httpx.Client) -> str:
    import io

    from PIL import Image
    from skimage import data

    png = io.BytesIO()
    Image.fromarray(data.astronaut()).save(png, format="PNG")
    made = http.post("/v1/characters", data={"name": "astro"},
                     files={"image": ("a.png", png.getvalue(), "image/png")})  # fmt: skip
    made.raise_for_status()
    return str(made.json()["id"])


def _viewer(transport: str, service: Service, session_id: str, seconds: float) -> Any:
    if transport == "none":
        return None
    module = "tools.webrtc_client" if transport == "webrtc" else "tools.transport_bench"
    extra = [] if transport == "webrtc" else ["--websocket-client"]
    return subprocess.Popen(
        [sys.executable, "-m", module, *extra, "--url", service.url, "--key", service.key,
         "--session", session_id, "--seconds", str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def measure(service: Service, http: httpx.Client, character: str, transport: str, n: int,
            seconds: float) -> dict[str, float]:  # fmt: skip
    """n sessions speaking, each with a viewer of ``transport`` in its own process."""
    ids = []
    for _ in range(n):
        made = http.post("/v1/sessions", json={"character_id": character})
        made.raise_for_status()
        ids.append(made.json()["id"])
    viewers = [_viewer(transport, service, sid, seconds + WARM_S) for sid in ids]
    time.sleep(WARM_S)
    for sid in ids:
        http.post(f"/v1/sessions/{sid}/speak", json={"text": PARAGRAPH}).raise_for_status()
    before = [http.get(f"/v1/sessions/{sid}").json()["stats"] for sid in ids]
    cpu0, t0 = _tree_cpu(service.process.pid), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = _tree_cpu(service.process.pid), time.monotonic()
    after = [http.get(f"/v1/sessions/{sid}").json()["stats"] for sid in ids]
    fps = []
    for viewer in viewers:
        if viewer is not None:
            out, _ = viewer.communicate(timeout=seconds + 60)
            fps.append(json.loads(out.strip().splitlines()[-1])["fps"])
    for sid in ids:
        http.post(f"/v1/sessions/{sid}/close").raise_for_status()
    frames = sum(a["frames"] - b["frames"] for a, b in zip(after, before, strict=True))
    missed = sum(a["missed_deadlines"] - b["missed_deadlines"]
                 for a, b in zip(after, before, strict=True))  # fmt: skip
    share = (cpu1 - cpu0) / (t1 - t0) / n
    return {
        "cpu_percent_per_session": 100 * share,
        "cpu_ms_per_frame": 1000 * share / FPS,
        "client_fps": sum(fps) / len(fps) if fps else float("nan"),
        "missed_percent": 100 * missed / max(frames, 1),
    }


def run(seconds: float = 15.0, levels: tuple[int, ...] = (1, 2)) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="visavis-transport-bench-") as tmp:
        service = Service(Path(tmp))
        try:
            with httpx.Client(base_url=service.url, headers={"X-API-Key": service.key},
                              timeout=60) as http:  # fmt: skip
                character = _character(http)
                for n in levels:
                    for transport in TRANSPORTS:
                        load = os.getloadavg()[0]
                        row = measure(service, http, character, transport, n, seconds)
                        print(f"transport {transport:9s} {n} session(s): "
                              f"{row['cpu_percent_per_session']:5.1f}% of a core per session "
                              f"({row['cpu_ms_per_frame']:.1f} ms per frame), viewer "
                              f"{row['client_fps']:.1f} fps, missed {row['missed_percent']:.1f}%"
                              f" (load {load:.1f} before, {os.getloadavg()[0]:.1f} after)",
                              flush=True)  # fmt: skip
                        for name, value in row.items():
                            results[f"{transport}_{n}_{name}"] = round(value, 2)
        finally:
            service.close()
    return results


async def _websocket_client(args: argparse.Namespace) -> dict[str, Any]:
    import websockets

    url = args.url.replace("http", "ws", 1) + f"/v1/sessions/{args.session}/stream"
    frames = 0
    async with websockets.connect(url, additional_headers={"X-API-Key": args.key},
                                  max_size=None) as ws:  # fmt: skip
        await ws.recv()
        start = time.monotonic()
        while time.monotonic() - start < args.seconds:
            await ws.recv()
            frames += 1
        elapsed = time.monotonic() - start
    return {"fps": frames / elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--sessions", default="1,2", help="comma-separated session counts")
    parser.add_argument("--websocket-client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--session", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.websocket_client:
        print(json.dumps(asyncio.run(_websocket_client(args))), flush=True)
        return 0
    levels = tuple(int(n) for n in args.sessions.split(","))
    print(json.dumps(run(args.seconds, levels), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
