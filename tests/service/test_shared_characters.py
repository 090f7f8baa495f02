"""A character made through one node is used by another node and by a LiveKit worker's job in a
third process, with nothing copied by hand: its files are in shared storage (PostgreSQL or S3,
real servers), each node reads them through its own local copy, fetched once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avatars.store import CharacterUnavailableError
from service.settings import Settings
from service.storage import open_storage


@pytest.mark.parametrize("kind", ["postgresql", "s3"])
def test_a_character_made_on_one_node_is_used_on_others(
    kind: str, tmp_path: Path, postgres, astronaut: np.ndarray, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    database = postgres.create_database("shared")
    storage_url = database
    if kind == "s3":
        storage_url = request.getfixturevalue("s3_server").create_bucket("shared")
    nodes = [Settings(data_dir=tmp_path / name, database_url=database, storage_url=storage_url)
             for name in ("a", "b")]  # fmt: skip
    node_a, node_b = (open_storage(settings) for settings in nodes)
    try:
        record = node_a.characters.create(astronaut, name="astro", owner="ada")
        made = node_a.characters.load(record.id)
        assert node_b.characters.get(record.id, owner="ada") == record
        loaded = node_b.characters.load(record.id)  # fetched from storage into b's cache
        assert np.array_equal(loaded.reference, made.reference)
        assert np.array_equal(loaded.landmarks, made.landmarks)
        folder = node_b.characters.folder(record.id)
        assert folder.is_relative_to(tmp_path / "b" / "cache")
        assert sorted(p.name for p in folder.iterdir()) == [
            "character.json", "reference.png", "rig.npz"]  # fmt: skip

        # a LiveKit worker's job, in its own process, with the same settings and its own folder
        env = {**os.environ, "VISAVIS_DATABASE_URL": database, "VISAVIS_STORAGE_URL": storage_url,
               "VISAVIS_DATA_DIR": str(tmp_path / "worker")}  # fmt: skip
        code = ("import sys; from service.settings import load_settings; "
                "from service.transports.livekit.agent_worker import prepare_character; "
                "print(prepare_character(load_settings(), sys.argv[1]))")  # fmt: skip
        done = subprocess.run([sys.executable, "-c", code, record.id], env=env, text=True,
                              capture_output=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        worker_folder = Path(done.stdout.strip().splitlines()[-1])
        assert worker_folder.is_relative_to(tmp_path / "worker")
        assert (worker_folder / "rig.npz").read_bytes() == (folder / "rig.npz").read_bytes()

        assert node_b.characters.delete(record.id, owner="ada")
        assert node_a.characters.get(record.id) is None
        assert node_a.blobs.list(f"characters/{record.id}/") == []
        fresh = open_storage(Settings(data_dir=tmp_path / "c", database_url=database,
                                      storage_url=storage_url))  # fmt: skip
        try:
            with pytest.raises(CharacterUnavailableError, match="not in storage"):
                fresh.characters.folder(record.id)
        finally:
            fresh.close()
    finally:
        node_a.close()
        node_b.close()
