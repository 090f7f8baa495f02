"""A visavis cluster on this machine, started with the commands a deployment runs
(deploy/compose.yaml, deploy/systemd): ``visavis migrate`` once, then ``visavis serve`` nodes and
``visavis clip-worker`` processes, all with the same ``VISAVIS_*`` settings but their own data
folders, against one real PostgreSQL (database, shared storage and clip queue)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from backing_servers import free_port

ADMIN_KEY = "multinode-admin-key-0123456789"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log: Path
    data_dir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (VISAVIS_LOG_FORMAT=json)."""
        records = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Cluster:
    root: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.env = {
            **os.environ,
            "VISAVIS_DATABASE_URL": self.database_url,
            "VISAVIS_STORAGE_URL": self.database_url,
            "VISAVIS_ADMIN_KEY": ADMIN_KEY,
            "VISAVIS_LOG_FORMAT": "json",
            "VISAVIS_CLIP_STALL_SECONDS": "4",  # a killed worker's job moves on within seconds
            "VISAVIS_FRAME_WORKERS": "0",  # sessions on threads: two cores host the cluster
            "VISAVIS_WARM_FRAME_WORKERS": "false",
            "PYTHONUNBUFFERED": "1",
        }

    def migrate(self) -> str:
        done = subprocess.run([sys.executable, "-m", "service.cli", "migrate"], env=self.env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def _start(self, name: str, args: list[str], port_variable: str, **env: str) -> Process:
        data_dir = self.root / name
        data_dir.mkdir(parents=True)
        port = free_port()
        log = self.root / f"{name}.log"
        env = {**self.env, **env, "VISAVIS_DATA_DIR": str(data_dir), port_variable: str(port)}
        with open(log, "wb") as out:
            popen = subprocess.Popen([sys.executable, "-m", "service.cli", *args], env=env,
                                     stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        process = Process(name=name, popen=popen, port=port, log=log, data_dir=data_dir)
        self.processes.append(process)
        return process

    def api(self, name: str) -> Process:
        """An API node that renders no clips itself (``VISAVIS_CLIP_WORKERS=0``)."""
        return self._start(name, ["serve"], "VISAVIS_PORT", VISAVIS_CLIP_WORKERS="0")

    def clip_worker(self, name: str) -> Process:
        """A clip worker; its metrics and health on ``VISAVIS_METRICS_PORT``."""
        return self._start(name, ["clip-worker"], "VISAVIS_METRICS_PORT")

    def wait_healthy(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.processes)
        while pending:
            process = pending[0]
            assert process.alive(), f"{process.name} exited:\n{process.log.read_text()[-3000:]}"
            try:
                if httpx.get(process.base + "/healthz", timeout=2).json().get("status") == "ok":
                    pending.pop(0)
                    continue
            except (httpx.HTTPError, ValueError):
                pass
            assert time.monotonic() < deadline, f"{process.name} not healthy after {timeout} s"
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes:
            if process.alive():
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(30)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
