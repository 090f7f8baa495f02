"""Migrations: every table of ``schema.py`` comes from a revision (on SQLite and on a real
PostgreSQL), databases from before migrations are stamped and upgraded keeping their rows, many
processes may migrate one database at once, and a database behind the code is refused."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect

from service.persistence import Database
from service.persistence.migrate import current_revision, head_revision, schema_differences
from service.persistence.schema import metadata

# The tables exactly as ``metadata.create_all`` made them before migrations (release of main
# at the architecture refactor), written out so this test does not depend on schema.py.
PRE_MIGRATION_SQLITE = """
CREATE TABLE api_keys (key_id VARCHAR(64) NOT NULL, owner VARCHAR(200) NOT NULL,
  salt BLOB NOT NULL, digest BLOB NOT NULL, label VARCHAR(200) DEFAULT '' NOT NULL,
  created FLOAT NOT NULL, revoked INTEGER DEFAULT '0' NOT NULL, PRIMARY KEY (key_id));
CREATE TABLE characters (id VARCHAR(64) NOT NULL, name VARCHAR(200) NOT NULL,
  owner VARCHAR(200), created FLOAT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
  notes TEXT DEFAULT '[]' NOT NULL, PRIMARY KEY (id));
CREATE INDEX characters_owner ON characters (owner);
CREATE TABLE clips (id VARCHAR(64) NOT NULL, owner VARCHAR(200) NOT NULL,
  character_id VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL,
  progress FLOAT DEFAULT '0' NOT NULL, error TEXT, format VARCHAR(16) NOT NULL,
  size VARCHAR(16) NOT NULL, frames INTEGER, duration_s FLOAT, created FLOAT NOT NULL,
  finished FLOAT, PRIMARY KEY (id));
CREATE INDEX clips_owner ON clips (owner, created);
CREATE TABLE realtime_sessions (id VARCHAR(64) NOT NULL, owner VARCHAR(200) NOT NULL,
  character_id VARCHAR(64) NOT NULL, options TEXT NOT NULL, status VARCHAR(16) NOT NULL,
  created FLOAT NOT NULL, updated FLOAT NOT NULL, PRIMARY KEY (id));
CREATE INDEX realtime_sessions_owner ON realtime_sessions (owner, created);
"""

# What main's create_all added to characters with the photo work (before migrations existed).
PHOTO_RELEASE_COLUMNS = """
ALTER TABLE characters ADD COLUMN fit VARCHAR(16) DEFAULT 'cover' NOT NULL;
ALTER TABLE characters ADD COLUMN report TEXT DEFAULT '{}' NOT NULL;
"""

DRIFT_HELP = (
    "schema.py and the migrations disagree: add a revision in "
    "service/persistence/migrations/versions for every change to schema.py"
)


def _assert_current(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    assert schema_differences(db.engine, metadata) == [], DRIFT_HELP


def _pre_migration_sqlite(path: Path) -> Path:
    """An SQLite database as the release before migrations left it, with one character."""
    conn = sqlite3.connect(path)
    conn.executescript(PRE_MIGRATION_SQLITE)
    conn.execute("INSERT INTO characters VALUES ('ch_old', 'old', 'ada', 1.0, 512, 512, '[]')")
    conn.commit()
    conn.close()
    return path


def test_migrations_make_exactly_the_schema_on_sqlite(tmp_path: Path) -> None:
    db = Database.sqlite(tmp_path / "v.sqlite3")
    try:
        _assert_current(db)
    finally:
        db.close()


def test_migrations_make_exactly_the_schema_on_postgresql(postgres) -> None:  # type: ignore[no-untyped-def]
    db = Database(url=postgres.create_database("drift"))
    try:
        assert db.is_postgresql
        _assert_current(db)
    finally:
        db.close()


def test_a_database_from_before_migrations_is_stamped_and_upgraded(tmp_path: Path) -> None:
    db = Database.sqlite(_pre_migration_sqlite(tmp_path / "visavis.sqlite3"))
    try:
        _assert_current(db)
        assert db.characters.get("ch_old", owner="ada") is not None  # the rows stay
    finally:
        db.close()


def test_a_database_of_the_photo_release_keeps_its_characters_framing(tmp_path: Path) -> None:
    """main before migrations, after the photo work: create_all had made characters.fit and
    report already; revision 0007 adds them only where they are missing."""
    path = _pre_migration_sqlite(tmp_path / "visavis.sqlite3")
    conn = sqlite3.connect(path)
    conn.executescript(PHOTO_RELEASE_COLUMNS)
    conn.execute("UPDATE characters SET fit = 'contain', report = '{\"warnings\": []}'")
    conn.commit()
    conn.close()
    db = Database.sqlite(path)
    try:
        _assert_current(db)
        old = db.characters.get("ch_old", owner="ada")
        assert old is not None and old.fit == "contain" and old.report == {"warnings": []}
    finally:
        db.close()


def test_a_database_behind_the_code_is_refused_without_migrating(tmp_path: Path) -> None:
    path = _pre_migration_sqlite(tmp_path / "visavis.sqlite3")
    with pytest.raises(RuntimeError, match="visavis migrate"):
        Database(url=f"sqlite:///{path}", migrate=False)
    Database(url=f"sqlite:///{path}").close()  # migrates
    Database(url=f"sqlite:///{path}", migrate=False).close()  # now current: accepted


def _open(url: str) -> str | None:
    db = Database(url=url)
    try:
        return current_revision(db.engine)
    finally:
        db.close()


def test_many_processes_migrate_one_postgresql_at_once(postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database("race")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        revisions = pool.map(_open, [url] * 4)
    assert revisions == [head_revision()] * 4
    db = Database(url=url)
    try:
        assert set(metadata.tables) <= set(inspect(db.engine).get_table_names())
    finally:
        db.close()


def test_bad_database_urls_are_named_without_their_password() -> None:
    with pytest.raises(ValueError, match=r"mysql.*not supported.*postgresql://") as caught:
        Database(url="mysql://root:hunter2@db/visavis")
    assert "hunter2" not in str(caught.value)
