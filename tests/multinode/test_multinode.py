"""A cluster on this machine, as deploy/ describes it: one PostgreSQL (database, shared storage,
clip queue), two API nodes on two ports, two clip workers, every one a process of its own.

- a character made through API 1 is used by a session on API 2 and by a LiveKit worker's job
  in a third process;
- a clip submitted to API 1 is rendered by a clip worker and downloaded from API 2, its request
  id carried from the request into the worker's log;
- a clip worker killed (SIGKILL) mid-render: the other worker renders the clip, which finishes.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from cluster import ADMIN_KEY, Cluster, Process

from service.persistence import ClipRow, Database

pytestmark = [pytest.mark.multinode, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def cluster(postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    cluster = Cluster(root=tmp_path_factory.mktemp("cluster"),
                      database_url=postgres.create_database("cluster"))  # fmt: skip
    assert "at " in cluster.migrate()  # once, before the nodes (as deploy/ runs it)
    for name in ("api1", "api2"):
        cluster.api(name)
    for name in ("clips1", "clips2"):
        cluster.clip_worker(name)
    try:
        cluster.wait_healthy()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def nodes(cluster: Cluster) -> dict[str, Process]:
    return {process.name: process for process in cluster.processes}


@pytest.fixture(scope="module")
def key(nodes: dict[str, Process]) -> dict[str, str]:
    made = httpx.post(nodes["api1"].base + "/v1/keys", json={"owner": "ada"},
                      headers={"X-API-Key": ADMIN_KEY}, timeout=30)  # fmt: skip
    assert made.status_code in (200, 201), made.text
    return {"X-API-Key": made.json()["api_key"]}


@pytest.fixture(scope="module")
def character(nodes: dict[str, Process], key: dict[str, str], astronaut: np.ndarray) -> str:
    from PIL import Image

    picture = io.BytesIO()
    Image.fromarray(astronaut).save(picture, format="PNG")
    made = httpx.post(nodes["api1"].base + "/v1/characters", headers=key, timeout=120,
                      files={"image": ("astronaut.png", picture.getvalue(), "image/png")})  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_a_character_made_on_api1_runs_a_session_on_api2_and_a_worker_job(
    cluster: Cluster, nodes: dict[str, Process], key: dict[str, str], character: str
) -> None:
    from websockets.sync.client import connect

    api2 = nodes["api2"]
    session = httpx.post(api2.base + "/v1/sessions", json={"character_id": character},
                         headers=key, timeout=120)  # fmt: skip
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    url = f"ws://127.0.0.1:{api2.port}/v1/sessions/{session_id}/stream"
    with connect(url, additional_headers=key, open_timeout=60) as ws:
        frame = ws.recv(timeout=60)
    assert isinstance(frame, bytes)
    header_length, jpeg_length = struct.unpack("<II", frame[:8])
    header = json.loads(frame[8 : 8 + header_length])
    jpeg = frame[8 + header_length : 8 + header_length + jpeg_length]
    assert header["index"] >= 0 and jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    closed = httpx.post(f"{api2.base}/v1/sessions/{session_id}/close", headers=key, timeout=60)
    assert closed.status_code == 200, closed.text
    # API 2 fetched the character from shared storage into its own cache
    assert (api2.data_dir / "cache" / "characters" / character / "rig.npz").is_file()

    # a LiveKit worker's avatar job loads it in a third process, with the same settings
    env = {**cluster.env, "VISAVIS_DATA_DIR": str(cluster.root / "livekit-worker")}
    code = ("import sys; from service.settings import load_settings; "
            "from service.transports.livekit.agent_worker import prepare_character; "
            "print(prepare_character(load_settings(), sys.argv[1]))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, character], env=env, text=True,
                          capture_output=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert Path(done.stdout.strip().splitlines()[-1], "character.json").is_file()


def _row(cluster: Cluster, clip_id: str) -> ClipRow:
    db = Database(url=cluster.database_url, migrate=False)
    try:
        row = db.clips.find(clip_id)
    finally:
        db.close()
    assert row is not None
    return row


def _wait_done(api: Process, key: dict[str, str], clip_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        clip = httpx.get(f"{api.base}/v1/clips/{clip_id}", headers=key, timeout=30).json()
        if clip["status"] in ("done", "failed"):
            return clip  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"clip still {clip['status']} after {timeout} s"
        time.sleep(0.2)


def _frames(video: bytes) -> int:
    with av.open(io.BytesIO(video)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_a_clip_submitted_to_api1_is_rendered_by_a_worker_and_downloaded_from_api2(
    cluster: Cluster, nodes: dict[str, Process], key: dict[str, str], character: str
) -> None:
    request_id = "multinode-clip-1"
    made = httpx.post(nodes["api1"].base + "/v1/clips", timeout=60,
                      headers={**key, "X-Request-ID": request_id},
                      data={"character_id": character, "text": "Hello from node one."})  # fmt: skip
    assert made.status_code == 202, made.text
    assert made.headers["x-request-id"] == request_id
    clip = _wait_done(nodes["api2"], key, made.json()["id"], timeout=180)
    assert clip["status"] == "done", clip
    video = httpx.get(nodes["api2"].base + f"/v1/clips/{clip['id']}/video", headers=key,
                      timeout=60)  # fmt: skip
    assert video.status_code == 200 and _frames(video.content) == clip["frames"]

    row = _row(cluster, clip["id"])
    workers = {n.name: n for n in nodes.values() if n.name.startswith("clips")}
    renderer = next(n for n in workers.values() if row.worker == _worker_name(n))
    lines = [r for r in renderer.log_records() if r.get("request_id") == request_id]
    assert any(clip["id"] in r["message"] and "clip done" in r["message"] for r in lines), lines
    metrics = httpx.get(renderer.base + "/metrics", timeout=10).text
    assert 'visavis_clip_jobs_total{status="done"}' in metrics


def _worker_name(process: Process) -> str:
    return f"{os.uname().nodename}:{process.popen.pid}"


def test_a_worker_killed_mid_render_leaves_its_clip_to_the_other(
    cluster: Cluster, nodes: dict[str, Process], key: dict[str, str], character: str
) -> None:
    speech = (0.3 * np.sin(np.arange(16_000 * 8) * 0.05) * 32767).astype("<i2")
    wav = io.BytesIO()
    import wave

    with wave.open(wav, "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(16_000)
        fh.writeframes(speech.tobytes())
    made = httpx.post(nodes["api1"].base + "/v1/clips", headers=key, timeout=60,
                      data={"character_id": character},
                      files={"audio": ("long.wav", wav.getvalue(), "audio/wav")})  # fmt: skip
    assert made.status_code == 202, made.text
    clip_id = made.json()["id"]
    deadline = time.monotonic() + 180
    while True:  # progress seen from API 2 while a worker renders
        clip = httpx.get(f"{nodes['api2'].base}/v1/clips/{clip_id}", headers=key, timeout=30).json()
        if clip["status"] == "running" and clip["progress"] > 0.05:
            break
        assert clip["status"] in ("queued", "running") and time.monotonic() < deadline, clip
        time.sleep(0.05)
    first = _row(cluster, clip_id)
    victim = next(n for n in nodes.values() if first.worker == _worker_name(n))
    os.kill(victim.popen.pid, signal.SIGKILL)
    victim.popen.wait(10)

    clip = _wait_done(nodes["api2"], key, clip_id, timeout=240)
    assert clip["status"] == "done" and clip["error"] is None, clip
    row = _row(cluster, clip_id)
    survivor = next(n for n in nodes.values() if n.name.startswith("clips") and n is not victim)
    assert row.worker == _worker_name(survivor) and row.attempts == 2, row
    video = httpx.get(nodes["api1"].base + f"/v1/clips/{clip_id}/video", headers=key, timeout=60)
    assert video.status_code == 200 and _frames(video.content) == clip["frames"] == 8 * 25
    health = httpx.get(survivor.base + "/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["rendering"] == 0
