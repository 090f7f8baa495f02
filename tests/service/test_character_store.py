"""The service's characters: records in the one database, files in ``avatars.store``; create,
list, get, load, delete; one broken character breaks nothing else; the files know no owner."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from avatars.store import CharacterFiles, CharacterNotFoundError, CharacterUnavailableError
from service.settings import Settings
from service.storage import open_storage


def test_store_lifecycle_and_isolation(tmp_path: Path, astronaut: np.ndarray) -> None:
    settings = Settings(data_dir=tmp_path)
    storage = open_storage(settings)
    store = storage.characters
    first = store.create(astronaut, name="astronaut", owner="key-a")
    second = store.create(astronaut[:, ::-1].copy(), name="mirrored", owner="key-b")
    assert {r.id for r in store.list().items} == {first.id, second.id}
    assert [r.id for r in store.list(owner="key-a").items] == [first.id]
    assert store.get(first.id, owner="key-b") is None  # another owner's character is invisible
    assert store.get(first.id) == first
    with pytest.raises(ValueError, match="name"):
        store.create(astronaut, name="  ")
    storage.close()

    # A fresh store (no cache) on the same folder; break one character's files.
    storage = open_storage(settings)
    store = storage.characters
    assert store.load(first.id).landmarks.shape == (478, 3)
    (tmp_path / "characters" / second.id / "rig.npz").write_bytes(b"garbage")
    with pytest.raises(CharacterUnavailableError, match=second.id):
        store.load(second.id)
    (tmp_path / "characters" / first.id / "reference.png").unlink()
    with pytest.raises(CharacterUnavailableError, match=rf"{first.id}.*reference\.png"):
        CharacterFiles(root=tmp_path).load(first.id)
    assert len(store.list().items) == 2  # the store still lists both

    with pytest.raises(CharacterNotFoundError, match="ch_nothere"):
        store.load("ch_nothere")
    assert store.delete(second.id, owner="key-b")
    assert not store.delete(second.id)
    assert not (tmp_path / "characters" / second.id).exists()
    assert [r.id for r in store.list().items] == [first.id]
    storage.close()
    # one database file holds the records: no other database beside it
    assert sorted(p.name for p in tmp_path.glob("*.db")) == []


def test_records_of_an_earlier_release_are_imported_once(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    """Earlier releases kept character rows in ``characters.db``; they come along once."""
    files = CharacterFiles(root=tmp_path)
    character_id = files.save(files.build(astronaut))
    files.close()
    legacy = sqlite3.connect(tmp_path / "characters.db")
    legacy.executescript(
        "CREATE TABLE characters (id TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT, "
        "created REAL NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, "
        "notes TEXT NOT NULL DEFAULT '[]');"
    )
    legacy.execute(
        "INSERT INTO characters VALUES (?, 'old', 'ada', 1.0, 512, 512, '[\"a note\"]')",
        (character_id,),
    )
    legacy.commit()
    legacy.close()
    storage = open_storage(Settings(data_dir=tmp_path))
    try:
        record = storage.characters.get(character_id, owner="ada")
        assert record is not None and record.name == "old" and record.notes == ("a note",)
        assert storage.characters.load(character_id).landmarks.shape == (478, 3)
    finally:
        storage.close()
    assert not (tmp_path / "characters.db").exists()
    assert (tmp_path / "characters.db.imported").is_file()
