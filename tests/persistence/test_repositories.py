"""Every repository does the same on SQLite and on a real PostgreSQL: keys, characters, clips,
sessions; rows written through one connection (one node) are read through another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.persistence import CharacterRecord, Database


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'v.sqlite3'}"
    else:
        yield request.getfixturevalue("postgres").create_database("repo")


def test_rows_written_by_one_node_are_read_by_another(url: str) -> None:
    node_a, node_b = Database(url=url), Database(url=url)
    try:
        key = node_a.keys.create("ada", label="laptop")
        assert node_b.keys.owner_for(key) == "ada"
        wrong = key[:-1] + ("y" if key.endswith("x") else "x")  # a secret may itself end in x
        assert node_b.keys.owner_for(wrong) is None
        assert node_b.keys.revoke(key) and node_a.keys.owner_for(key) is None

        record = CharacterRecord(id="ch_1", name="astro", owner="ada", created=1.0,
                                 width=512, height=600, notes=("a note",))  # fmt: skip
        node_a.characters.insert(record)
        assert node_b.characters.get("ch_1", owner="ada") == record
        assert node_b.characters.get("ch_1", owner="bob") is None
        assert [r.id for r in node_b.characters.list("ada").items] == ["ch_1"]

        clip = node_a.clips.insert(owner="ada", character_id="ch_1", fmt="mp4", size="512")
        node_b.clips.update(clip.id, status="running", progress=0.25)
        seen = node_a.clips.get(clip.id, owner="ada")
        assert seen is not None and (seen.status, seen.progress) == ("running", 0.25)
        with pytest.raises(ValueError, match="status"):
            node_a.clips.update(clip.id, status="lost")

        session = node_a.sessions.insert(owner="ada", character_id="ch_1", options={"seed": 3})
        node_b.sessions.set_status(session.id, "closed")
        again = node_a.sessions.get(session.id, owner="ada")
        assert again is not None and again.status == "closed" and again.options == {"seed": 3}
    finally:
        node_a.close()
        node_b.close()


def test_a_restarting_node_closes_only_its_own_sessions(url: str) -> None:
    db = Database(url=url)
    try:
        mine = db.sessions.insert(owner="ada", character_id="ch_1", options={})
        theirs = db.sessions.insert(owner="ada", character_id="ch_1", options={})
        db.sessions.set_status(mine.id, "open", node="host-a:8000")
        db.sessions.set_status(theirs.id, "open", node="host-b:8000")
        assert db.sessions.close_all_open(node="host-a:8000") == 1
        assert db.sessions.get(mine.id, owner="ada").status == "closed"  # type: ignore[union-attr]
        still = db.sessions.get(theirs.id, owner="ada")
        assert still is not None and still.status == "open" and still.node == "host-b:8000"
    finally:
        db.close()
