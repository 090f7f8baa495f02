"""One contract for every blob store: a folder, PostgreSQL (a real server) and S3 (moto's
server as its own process). What one node writes another node's store reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.blobs import BlobNotFoundError, BlobStore, open_blobs, scheme


@pytest.fixture(params=["folder", "postgresql", "s3"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "folder":
        yield str(tmp_path / "shared")
    elif request.param == "postgresql":
        yield request.getfixturevalue("postgres").create_database("blobs")
    else:
        yield request.getfixturevalue("s3_server").create_bucket("blobs")


def test_what_one_node_stores_another_reads(url: str, tmp_path: Path) -> None:
    node_a = open_blobs(url, data_dir=tmp_path / "a")
    node_b = open_blobs(url, data_dir=tmp_path / "b")
    try:
        _contract(node_a, node_b, tmp_path)
    finally:
        node_a.close()
        node_b.close()


def _contract(node_a: BlobStore, node_b: BlobStore, tmp_path: Path) -> None:
    big = os.urandom(2 * (1 << 20) + 12345)  # three chunks in PostgreSQL
    source = tmp_path / "big.bin"
    source.write_bytes(big)
    node_a.put_file("characters/ch_1/rig.npz", source)
    assert source.exists()  # copied, not moved
    node_a.put_bytes("characters/ch_1/character.json", b"{}", scratch=tmp_path / "scratch")
    node_a.put_bytes("characters/ch_2/character.json", b"[]", scratch=tmp_path / "scratch")
    node_a.put_bytes("clips/clp_1.mp4", b"", scratch=tmp_path / "scratch")  # empty is a blob too

    assert node_b.get_bytes("characters/ch_1/rig.npz") == big
    assert b"".join(node_b.iter_bytes("characters/ch_1/rig.npz")) == big
    assert node_b.size("characters/ch_1/rig.npz") == len(big)
    assert node_b.size("clips/clp_1.mp4") == 0 and node_b.get_bytes("clips/clp_1.mp4") == b""
    assert node_b.list("characters/ch_1/") == ["characters/ch_1/character.json",
                                               "characters/ch_1/rig.npz"]  # fmt: skip
    assert node_b.list("characters/") == ["characters/ch_1/character.json",
                                          "characters/ch_1/rig.npz", "characters/ch_2/character.json"]  # fmt: skip
    assert node_b.list("characters/ch_/") == []  # a prefix is a folder, not a string match
    node_b.get_file("characters/ch_1/rig.npz", tmp_path / "copy" / "rig.npz")
    assert (tmp_path / "copy" / "rig.npz").read_bytes() == big

    moved = tmp_path / "render.mp4"
    moved.write_bytes(b"video")
    node_b.put_file("clips/clp_2.mp4", moved, move=True)
    assert not moved.exists() and node_a.get_bytes("clips/clp_2.mp4") == b"video"

    node_a.put_bytes("clips/clp_2.mp4", b"again", scratch=tmp_path / "scratch")  # replaced
    assert node_b.get_bytes("clips/clp_2.mp4") == b"again"

    assert node_b.delete_prefix("characters/ch_1/") == 2
    assert node_a.list("characters/") == ["characters/ch_2/character.json"]
    node_a.delete("clips/clp_2.mp4")
    node_a.delete("clips/clp_2.mp4")  # deleting what is not there is not an error
    assert not node_b.exists("clips/clp_2.mp4")
    with pytest.raises(BlobNotFoundError):
        node_b.iter_bytes("clips/clp_2.mp4")
    with pytest.raises(BlobNotFoundError):
        node_b.size("characters/ch_1/rig.npz")
    for bad in ("../etc/passwd", "clips/.hidden", "clips//x", "a b"):
        with pytest.raises(ValueError, match="blob key"):
            node_a.put_bytes(bad, b"x", scratch=tmp_path / "scratch")


def test_storage_urls_are_checked() -> None:
    assert scheme(None) == "folder" and scheme("/srv/visavis") == "folder"
    assert scheme("postgresql://u:p@db/v") == "postgresql" and scheme("s3://b") == "s3"
    with pytest.raises(ValueError, match=r"ftp.*not supported.*s3://"):
        scheme("ftp://files/visavis")


def test_s3_urls_refuse_credentials_and_unknown_options(s3_server) -> None:  # type: ignore[no-untyped-def]
    from service.blobs.s3 import S3Blobs

    with pytest.raises(ValueError, match="AWS_"):
        S3Blobs("s3://key:secret@bucket")
    with pytest.raises(ValueError, match="unknown options"):
        S3Blobs(f"s3://bucket?endpoint={s3_server.endpoint}&color=red")
    with pytest.raises(ValueError, match=r"missing-bucket.*create it first"):
        S3Blobs(f"s3://missing-bucket?endpoint={s3_server.endpoint}")
