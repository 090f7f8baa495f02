"""``visavis worker`` can be watched without a LiveKit server in reach: its health endpoint and
its Prometheus metrics (gathered from its job processes) answer, and its log is JSON when asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from backing_servers import free_port


def test_a_livekit_worker_serves_health_metrics_and_json_logs(tmp_path: Path) -> None:
    health_port, metrics_port, nowhere = free_port(), free_port(), free_port()
    env = {**os.environ, "LIVEKIT_API_SECRET": "s" * 32, "VISAVIS_DATA_DIR": str(tmp_path),
           "VISAVIS_LOG_FORMAT": "json", "VISAVIS_METRICS_PORT": str(metrics_port)}  # fmt: skip
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker", "--url", f"ws://127.0.0.1:{nowhere}",
             "--api-key", "key", "--http-port", str(health_port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert worker.poll() is None, log.read_text()[-3000:]
            try:
                health = httpx.get(f"http://127.0.0.1:{health_port}/", timeout=2)
                metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2)
                if health.status_code == 200 and "visavis_livekit_jobs_total" in metrics.text:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert "visavis_realtime_missed_frames_total" in metrics.text
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(r["logger"].startswith("livekit") for r in records), log.read_text()[-2000:]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
