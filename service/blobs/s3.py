"""Blobs in S3-compatible object storage through boto3 (AWS's own client, which every
S3-compatible server — MinIO, Ceph, Garage, R2 — is tested against).

``s3://bucket[/prefix]?endpoint=http://host:9000&region=us-east-1``: the endpoint is omitted
for AWS itself. Credentials come from boto3's usual places (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, its config files, an instance role), never from the URL, which is
logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from service.blobs.base import CHUNK_BYTES, BlobNotFoundError, BlobStore, check_key, check_prefix

ACCEPTED = "s3://bucket[/prefix]?endpoint=http://host:port&region=name"
_OPTIONS = {"endpoint", "region"}


def _missing(error: Any) -> bool:
    code = str(error.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class S3Blobs(BlobStore):
    def __init__(self, url: str) -> None:
        import boto3
        from botocore.config import Config

        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc or parts.username or parts.password:
            raise ValueError(f"storage URL {url!r} is not {ACCEPTED} (credentials go in AWS_* "
                             "environment variables, not the URL)")  # fmt: skip
        options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ValueError(f"storage URL {url!r}: unknown options {sorted(unknown)}; {ACCEPTED}")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        if self.prefix:
            check_key(self.prefix)
            self.prefix += "/"
        endpoint = options.get("endpoint")
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=options.get("region", "us-east-1"),
            # path-style: a self-hosted endpoint has no per-bucket host names
            config=Config(s3={"addressing_style": "path" if endpoint else "auto"},
                          retries={"max_attempts": 5, "mode": "standard"}),
        )  # fmt: skip
        self.description = f"S3 bucket {self.bucket} at {endpoint or 'AWS'}"
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self.client.exceptions.ClientError as exc:
            raise ValueError(
                f"storage URL {url!r}: bucket {self.bucket!r} is not reachable "
                f"({exc.response.get('Error', {}).get('Code', exc)}); create it first"
            ) from None

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put_file(self, key: str, path: Path, *, move: bool = False) -> None:
        self.client.upload_file(str(path), self.bucket, self._name(key))  # multipart if large
        if move:
            Path(path).unlink(missing_ok=True)

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except self.client.exceptions.ClientError as exc:
            if _missing(exc):
                raise BlobNotFoundError(key) from None
            raise
        return _chunks(body)

    def size(self, key: str) -> int:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except self.client.exceptions.ClientError as exc:
            if _missing(exc):
                raise BlobNotFoundError(key) from None
            raise
        return int(head["ContentLength"])

    def list(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + check_prefix(prefix)
        )
        cut = len(self.prefix)
        return sorted(item["Key"][cut:] for page in pages for item in page.get("Contents", []))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        for start in range(0, len(keys), 1000):  # S3's limit per request
            batch = [{"Key": self.prefix + key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
        return len(keys)

    def close(self) -> None:
        self.client.close()


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()
