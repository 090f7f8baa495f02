"""Clip queues through the API, on SQLite (the process's own threads) and on a real PostgreSQL
(procrastinate, with the shared files in PostgreSQL too): fair between API keys (two keys of one
owner included), and a service
stopped mid-render puts the clip back in the queue for the next start instead of failing it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "node")
    else:
        url = request.getfixturevalue("postgres").create_database("queue")
        yield Settings(data_dir=tmp_path / "node", database_url=url, storage_url=url)


def _character(client: TestClient, headers: dict[str, str], picture: bytes) -> str:
    made = client.post("/v1/characters", headers=headers,
                       files={"image": ("a.png", picture, "image/png")})  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _submit(client: TestClient, headers: dict[str, str], character: str, seconds: float,
            wav_bytes: Callable[[np.ndarray], bytes]) -> str:  # fmt: skip
    speech = 0.3 * np.sin(np.arange(int(16_000 * seconds)) * 0.05)
    made = client.post("/v1/clips", headers=headers, data={"character_id": character},
                       files={"audio": ("a.wav", wav_bytes(speech), "audio/wav")})  # fmt: skip
    assert made.status_code == 202, made.text
    return str(made.json()["id"])


def test_one_keys_many_clips_do_not_starve_anothers_one(settings, astronaut, to_png, to_wav) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings)) as client:
        db, jobs = client.app.state.db, client.app.state.jobs  # type: ignore[attr-defined]
        # two keys of one owner: fairness is per key (owner-wide, bob's one would come last)
        ada, bob = ({"X-API-Key": db.keys.create("ada")} for _ in range(2))
        character = _character(client, ada, to_png(astronaut))
        # ada's first is long enough to be rendering while the rest are asked for
        adas = [_submit(client, ada, character, seconds, to_wav) for seconds in (3.0, 0.5, 0.5, 0.5)]
        bobs = _submit(client, bob, character, 0.4, to_wav)
        rows = {clip: jobs.wait(clip, timeout=300) for clip in [*adas, bobs]}
    assert all(row.status == "done" for row in rows.values()), rows
    order = sorted(rows, key=lambda clip: rows[clip].finished)
    # ada's first was rendering when bob asked; bob's comes right after it, before ada's others
    assert order.index(bobs) == 1, [(rows[c].key_id, rows[c].finished) for c in order]


def test_a_clip_stopped_with_its_service_is_rendered_after_the_restart(settings, astronaut,
                                                                         to_png, to_wav) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    with TestClient(create_app(settings)) as client:
        db = client.app.state.db  # type: ignore[attr-defined]
        headers = {"X-API-Key": db.keys.create("ada")}
        clip = _submit(client, headers, _character(client, headers, to_png(astronaut)), 4.0,
                       to_wav)
        deadline = time.monotonic() + 120
        while (row := db.clips.find(clip)).progress == 0:
            assert time.monotonic() < deadline and row.status in ("queued", "running"), row
            time.sleep(0.02)
    with TestClient(create_app(settings)) as client:  # the same database and storage
        db = client.app.state.db  # type: ignore[attr-defined]
        assert db.clips.find(clip).status in ("queued", "running")  # back in line, not failed
        done = client.app.state.jobs.wait(clip, timeout=300)  # type: ignore[attr-defined]
        assert done.status == "done" and done.error is None and done.attempts == 1, done
        video = client.get(f"/v1/clips/{clip}/video", headers=headers)
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        assert int(video.headers["content-length"]) == len(video.content)
