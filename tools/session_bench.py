"""Capacity where users meet it: N live sessions through the real service, per load level.

The service runs as ``visavis serve`` in its own process (uvicorn, frame worker processes);
every session is created over REST, and each has its own client process
(``tools.session_client``) that pushes the avatar's speech over HTTP in 200 ms chunks as a
streaming TTS would, streams the partner's microphone over HTTP, and reads the frames over the
WebSocket. Per level it prints: missed frames (the server's count: late, or with a repeated
picture), audio-arrival -> frame-leaving latency (the server's, and the clients' from push to
arrival), the server's CPU per session-frame (its process and its frame workers), the frames per
second each client received, sessions refused, and the machine's load average beside them.

``--against DIR`` also runs a second checkout's service (e.g. the previous release), started
beside this one and idle while the other is measured; the two alternate at every level, in
turns, so that a drift of the machine's speed touches both alike.

    .venv/bin/python -m tools.session_bench [--levels 1,2,4,6] [--seconds 30] [--rounds 1]
        [--against DIR] [--env NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

ADMIN_KEY = "admin-key-of-the-session-bench-0123"
WARMUP_S = 3.0
UNLIMITED = {"VISAVIS_MAX_SESSIONS": "64", "VISAVIS_MAX_LIVE_SESSIONS_PER_KEY": "64",
             "VISAVIS_ADMISSION_MISSED_PERCENT": "100"}  # fmt: skip
"""The levels measure what N sessions do, so admission control lets them all in, and the one key
of the bench's clients may hold them all (``--env`` overrides it)."""
MISSED_LIMIT = 0.01


@dataclass
class Server:
    name: str
    root: Path
    process: subprocess.Popen[bytes]
    url: str
    headers: dict[str, str]
    character: str
    log: Path

    def metrics(self) -> dict[str, float]:
        wanted = ("visavis_realtime_frames_total", "visavis_realtime_missed_frames_total")
        values = dict.fromkeys(wanted, 0.0)
        for line in httpx.get(f"{self.url}/metrics", timeout=30).text.splitlines():
            name, _, value = line.partition(" ")
            if name in values:
                values[name] = float(value)
        return values

    def cpu_seconds(self) -> float:
        """User + system CPU of the service and its frame workers so far."""
        parent = psutil.Process(self.process.pid)
        total = 0.0
        for process in [parent, *parent.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total


def start_server(name: str, root: Path, data_dir: Path, env: dict[str, str]) -> Server:
    """``visavis serve`` of the checkout ``root`` (run by this interpreter from that folder, so
    its own packages are imported), with a key and the astronaut as a character."""
    from skimage import data

    from tools.session_client import free_port

    port = free_port()
    log = data_dir / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=root, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        env={**os.environ, "VISAVIS_DATA_DIR": str(data_dir), "VISAVIS_ADMIN_KEY": ADMIN_KEY,
             "PYTHONPATH": str(root), **env},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} server did not start")
        time.sleep(0.5)
    admin = {"X-API-Key": ADMIN_KEY}
    key = httpx.post(f"{url}/v1/keys", headers=admin, json={"owner": "bench"}, timeout=30)
    headers = {"X-API-Key": key.json()["api_key"]}
    from PIL import Image

    png = io.BytesIO()
    Image.fromarray(data.astronaut()).save(png, format="PNG")
    made = httpx.post(
        f"{url}/v1/characters", headers=headers, data={"name": "astronaut"},
        files={"image": ("astronaut.png", png.getvalue(), "image/png")}, timeout=120,
    )  # fmt: skip
    made.raise_for_status()
    return Server(name, root, process, url, headers, made.json()["id"], log)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def run_level(server: Server, n: int, seconds: float) -> dict[str, Any]:
    """``n`` sessions for ``seconds``, each with its own client process."""
    from tools.session_client import run_client

    sessions: list[str] = []
    refused: list[str] = []
    for _ in range(n):
        response = httpx.post(
            f"{server.url}/v1/sessions", headers=server.headers,
            json={"character_id": server.character}, timeout=120,
        )  # fmt: skip
        if response.status_code == 201:
            sessions.append(response.json()["id"])
        else:
            refused.append(f"{response.status_code} {response.headers.get('retry-after', '')}")
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    clients = [
        context.Process(
            target=run_client, args=(server.url, server.headers, sid, seconds, seed, out)
        )
        for seed, sid in enumerate(sessions)
    ]
    for client in clients:
        client.start()
    time.sleep(WARMUP_S + 2.0)  # the clients import and connect, then the clocks settle
    before, cpu_before, t0 = server.metrics(), server.cpu_seconds(), time.monotonic()
    time.sleep(max(1.0, seconds - WARMUP_S - 2.0))
    after, cpu_after, t1 = server.metrics(), server.cpu_seconds(), time.monotonic()
    reports = [out.get(timeout=seconds + 120) for _ in clients]
    for client in clients:
        client.join(30)
    stats = [
        httpx.get(f"{server.url}/v1/sessions/{sid}", headers=server.headers, timeout=30).json()
        for sid in sessions
    ]
    for sid in sessions:
        httpx.post(f"{server.url}/v1/sessions/{sid}/close", headers=server.headers, timeout=60)
    frames = after["visavis_realtime_frames_total"] - before["visavis_realtime_frames_total"]
    missed = (
        after["visavis_realtime_missed_frames_total"]
        - before["visavis_realtime_missed_frames_total"]
    )
    latencies = [ms for report in reports for ms in report["latencies_ms"]]
    server_p95 = [s["stats"]["latency_ms_p95"] for s in stats if s.get("stats")]
    fps = [r["frames"] / r["seconds"] for r in reports if r["seconds"] > 0]
    return {
        "sessions": len(sessions),
        "refused": refused,
        "missed_fraction": missed / frames if frames else float("nan"),
        "cpu_ms_per_session_frame": 1000 * (cpu_after - cpu_before) / frames if frames else 0,
        "server_cores": (cpu_after - cpu_before) / (t1 - t0),
        "client_latency_ms_p50": _pct(latencies, 50),
        "client_latency_ms_p95": _pct(latencies, 95),
        "server_latency_ms_p95": max((p for p in server_p95 if p is not None), default=None),
        "client_fps_min": min(fps, default=0.0),
        "client_fps_median": statistics.median(fps) if fps else 0.0,
        "longest_gap_ms": max((r["longest_gap_ms"] for r in reports), default=0.0),
        "http_errors": sum(r["http_errors"] for r in reports),
        "closed": [r["close"] for r in reports if r["close"]],
        "load": os.getloadavg()[0],
    }


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def print_level(server: Server, n: int, level: dict[str, Any]) -> None:
    refused = f", refused {len(level['refused'])} ({'; '.join(level['refused'])})"
    print(
        f"sessions {server.name} {n} asked, {level['sessions']} live: missed "
        f"{100 * level['missed_fraction']:.2f}%, latency arrival->leaving p95 server "
        f"{_ms(level['server_latency_ms_p95'])} ms, push->client p50 "
        f"{_ms(level['client_latency_ms_p50'])} p95 {_ms(level['client_latency_ms_p95'])} ms; "
        f"server CPU {level['cpu_ms_per_session_frame']:.1f} ms per session-frame "
        f"({level['server_cores']:.2f} cores); client fps min {level['client_fps_min']:.1f} "
        f"median {level['client_fps_median']:.1f}, longest gap {level['longest_gap_ms']:.0f} ms"
        f"{refused if level['refused'] else ''}; http errors {level['http_errors']}; "
        f"load average {level['load']:.1f}",
        flush=True,
    )
    for closed in level["closed"]:
        print(f"  a client's stream ended: {closed}", flush=True)


def run(
    levels: tuple[int, ...] = (1, 2, 4, 6),
    seconds: float = 30.0,
    *,
    rounds: int = 1,
    against: Path | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, float]:
    """Measure and print; the numbers for ``make bench``."""
    here = Path(__file__).resolve().parents[1]
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="visavis-session-bench-") as folder:
        servers: list[Server] = []
        try:
            roots = [("this", here)] + ([("against", against.resolve())] if against else [])
            for name, root in roots:
                data_dir = Path(folder) / name
                data_dir.mkdir()
                servers.append(start_server(name, root, data_dir, {**UNLIMITED, **(env or {})}))
            print(f"sessions: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
                  f"before the first level", flush=True)  # fmt: skip
            for n in levels:
                for r in range(rounds):
                    order = servers if r % 2 == 0 else servers[::-1]
                    for server in order:
                        level = run_level(server, n, seconds)
                        print_level(server, n, level)
                        if server.name == "this":
                            results[f"missed_fraction_{n}_sessions"] = level["missed_fraction"]
                            results[f"cpu_ms_per_session_frame_{n}"] = level[
                                "cpu_ms_per_session_frame"
                            ]
        finally:
            for server in servers:
                stop_server(server)
    held = [n for n in levels if results.get(f"missed_fraction_{n}_sessions", 1.0) < MISSED_LIMIT]
    results["sustained_sessions_512"] = float(max(held, default=0))
    print(
        f"sessions: {max(held, default=0)} concurrent 512x512 sessions held < 1% missed through "
        f"the real service (goal >= 6); load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4,6", help="sessions per level, e.g. 1,2,4,6")
    parser.add_argument("--seconds", type=float, default=30.0, help="per level (>= 10)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat each level")
    parser.add_argument("--against", type=Path, default=None, help="another checkout to compare")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the servers")
    args = parser.parse_args(argv)
    try:
        levels = tuple(int(v) for v in args.levels.split(","))
    except ValueError:
        raise SystemExit(
            f"--levels must be integers separated by commas, got {args.levels!r}"
        ) from None
    if not levels or not all(1 <= n <= 64 for n in levels):
        raise SystemExit(f"--levels must be in 1..64, got {args.levels!r}")
    if args.seconds < 10:
        raise SystemExit(f"--seconds must be at least 10, got {args.seconds}")
    env = dict(item.split("=", 1) for item in args.env)
    run(levels, args.seconds, rounds=args.rounds, against=args.against, env=env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
