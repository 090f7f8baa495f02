"""Blobs in PostgreSQL: rows of ``blob_chunks`` (key, seq, bytea of at most 1 MiB), so a clip is
written and read a chunk at a time and never held whole in memory. One database serves every
node; no other server is needed beside the one that holds the service's tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import delete, func, insert, select

from service.blobs.base import CHUNK_BYTES, BlobNotFoundError, BlobStore, check_key, check_prefix
from service.persistence.database import open_engine
from service.persistence.migrate import migrate
from service.persistence.schema import blob_chunks as table
from service.persistence.urls import redact


class PostgresBlobs(BlobStore):
    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)
        if self.engine.dialect.name != "postgresql":
            self.engine.dispose()
            raise ValueError(f"storage URL {redact(url)!r} is not a PostgreSQL database")
        try:
            migrate(self.engine)  # the same revisions as the service's database (a no-op there)
        except BaseException:
            self.engine.dispose()
            raise
        self.description = f"PostgreSQL {redact(url)}"

    def put_file(self, key: str, path: Path, *, move: bool = False) -> None:
        check_key(key)
        with self.engine.begin() as conn, open(path, "rb") as handle:
            conn.execute(delete(table).where(table.c.key == key))
            seq = 0
            while True:
                chunk = handle.read(CHUNK_BYTES)
                if not chunk and seq > 0:
                    break
                conn.execute(insert(table).values(key=key, seq=seq, data=chunk))
                seq += 1
        if move:
            Path(path).unlink(missing_ok=True)

    def _sequence(self, key: str) -> list[int]:
        query = select(table.c.seq).where(table.c.key == check_key(key)).order_by(table.c.seq)
        with self.engine.connect() as conn:
            return [int(seq) for seq in conn.execute(query).scalars()]

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        chunks = self._sequence(key)
        if not chunks:
            raise BlobNotFoundError(key)
        return self._read(key, chunks)

    def _read(self, key: str, chunks: list[int]) -> Iterator[bytes]:
        # one short query per chunk: a slow download holds no connection between chunks
        for seq in chunks:
            query = select(table.c.data).where(table.c.key == key, table.c.seq == seq)
            with self.engine.connect() as conn:
                data = conn.execute(query).scalar_one_or_none()
            if data is None:
                raise BlobNotFoundError(f"{key} (deleted while being read)")
            yield bytes(data)

    def size(self, key: str) -> int:
        query = select(func.count(), func.sum(func.octet_length(table.c.data))).where(
            table.c.key == check_key(key)
        )
        with self.engine.connect() as conn:
            count, total = conn.execute(query).one()
        if not count:
            raise BlobNotFoundError(key)
        return int(total or 0)

    def list(self, prefix: str) -> list[str]:
        query = (
            select(table.c.key)
            .distinct()
            .where(table.c.key.startswith(check_prefix(prefix), autoescape=True))
            .order_by(table.c.key)
        )
        with self.engine.connect() as conn:
            return [str(key) for key in conn.execute(query).scalars()]

    def delete(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.key == check_key(key)))

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        with self.engine.begin() as conn:
            conn.execute(
                delete(table).where(table.c.key.startswith(prefix, autoescape=True))
            )
        return len(keys)

    def close(self) -> None:
        self.engine.dispose()
