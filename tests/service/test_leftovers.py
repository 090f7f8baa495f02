"""Leftovers of interrupted work go at start-up and with the housekeeping sweep: stale
``.partial`` files and folders, and session rows whose character is gone. Work in progress
(a partial still being written) stays."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi.testclient import TestClient

from service.housekeeping import Housekeeping
from service.leftovers import PARTIAL_STALE_S, sweep_leftovers
from service.main import create_app
from service.persistence import Database
from service.settings import Settings


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (then, then))


def _leftovers(data: Path) -> dict[str, Path]:
    (data / "characters" / "ch_dead.partial").mkdir(parents=True)
    (data / "characters" / "ch_dead.partial" / "rig.npz").write_bytes(b"half")
    (data / "clips").mkdir(exist_ok=True)
    (data / "cache" / "characters" / "ch_far.partial-0a1b2c3d").mkdir(parents=True)
    paths = {
        "character": data / "characters" / "ch_dead.partial",
        "clip": data / "clips" / ".clp_1.mp4.1234.partial",
        "state": data / "demo.partial",
        "stored": data / "clips" / ".clp_3.mp4.partial-9f8e7d6c",  # a copy into the storage
        "fetched": data / "cache" / "characters" / "ch_far.partial-0a1b2c3d",  # into the cache
        "fresh": data / "clips" / ".clp_2.mp4.99.partial",
    }
    for name in ("clip", "state", "stored", "fresh"):
        paths[name].write_bytes(b"x")
    for name in ("character", "clip", "state", "stored", "fetched"):
        _age(paths[name], PARTIAL_STALE_S + 60)
    return paths


def test_start_up_sweeps_stale_partials_and_orphan_sessions(tmp_path: Path) -> None:
    paths = _leftovers(tmp_path)
    db = Database.sqlite(tmp_path / "visavis.sqlite3")
    orphan = db.sessions.insert(owner="o", character_id="ch_gone", options={})
    db.close()
    settings = Settings(data_dir=tmp_path, frame_workers=0, warm_frame_workers=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        records = client.app.state.db.sessions  # type: ignore[attr-defined]
        assert records.get(orphan.id, owner="o") is None
    assert not paths["character"].exists() and not paths["clip"].exists()
    assert not paths["state"].exists()
    assert not paths["stored"].exists() and not paths["fetched"].exists()
    assert paths["fresh"].exists()  # being written: kept


async def test_the_housekeeping_sweep_takes_later_leftovers(tmp_path: Path) -> None:
    db = Database.sqlite(tmp_path / "db.sqlite3")
    try:
        upkeep = Housekeeping(jobs=None, retention_seconds=0,  # type: ignore[arg-type]
                              chores=[lambda: sweep_leftovers(tmp_path, db)])  # fmt: skip
        paths = _leftovers(tmp_path)
        await upkeep.sweep()
        assert not paths["clip"].exists() and paths["fresh"].exists()
        _age(paths["fresh"], PARTIAL_STALE_S + 1)
        await upkeep.sweep()
        assert not paths["fresh"].exists()
    finally:
        db.close()
