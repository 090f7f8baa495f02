"""The character store: create, list, get, load, delete; one broken character breaks nothing else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatars.store import CharacterNotFoundError, CharacterStore, CharacterUnavailableError


def test_store_lifecycle_and_isolation(tmp_path: Path, astronaut: np.ndarray) -> None:
    store = CharacterStore(root=tmp_path)
    first = store.create(astronaut, name="astronaut", owner="key-a")
    second = store.create(astronaut[:, ::-1].copy(), name="mirrored", owner="key-b")
    assert {r.id for r in store.list()} == {first.id, second.id}
    assert [r.id for r in store.list(owner="key-a")] == [first.id]
    assert store.get(first.id, owner="key-b") is None  # another owner's character is invisible
    assert store.get(first.id) == first
    with pytest.raises(ValueError, match="name"):
        store.create(astronaut, name="  ")
    store.close()

    # A fresh store (no cache) on the same folder; break one character's files.
    store = CharacterStore(root=tmp_path)
    assert store.load(first.id).landmarks.shape == (478, 3)
    (tmp_path / "characters" / second.id / "rig.npz").write_bytes(b"garbage")
    with pytest.raises(CharacterUnavailableError, match=second.id):
        store.load(second.id)
    (tmp_path / "characters" / first.id / "reference.png").unlink()
    with pytest.raises(CharacterUnavailableError, match=rf"{first.id}.*reference\.png"):
        CharacterStore(root=tmp_path).load(first.id)
    assert len(store.list()) == 2  # the store still lists both

    with pytest.raises(CharacterNotFoundError, match="ch_nothere"):
        store.load("ch_nothere")
    assert store.delete(second.id, owner="key-b")
    assert not store.delete(second.id)
    assert not (tmp_path / "characters" / second.id).exists()
    assert [r.id for r in store.list()] == [first.id]
    store.close()
